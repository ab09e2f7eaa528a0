// The fabric time-stamping authority (RFC 3161) behind `POST /api/v1/timestamp`, on OpenSSL's TS
// API (TS_RESP_CTX, TS_RESP_create_response): no ASN.1 is written by hand here.
//
// What a reply promises:
//   - imprints: SHA-256 only; any other hash algorithm gets a rejection (PKIStatus rejection,
//     PKIFailureInfo badAlg) inside a well-formed TimeStampResp, never an HTTP error;
//   - policy: kTsaPolicyOid (below) unless the request names it; any other policy is rejected
//     (unacceptedPolicy);
//   - nonce echoed, the TSA certificate (and the rest of --tsa-cert's chain) included when the
//     request sets certReq, ESSCertIDv2 with SHA-256, signature with SHA-256;
//   - genTime from the system clock (CLOCK_REALTIME), to the second, with a stated accuracy of
//     kTsaAccuracySeconds;
//   - serials: positive 64-bit integers from a counter kept in the registry database. Blocks of
//     kSerialBlock serials are reserved in one write transaction and handed out from memory, so a
//     serial never repeats, across restarts and crashes (a crash leaves a gap, never a repeat).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "hsm/key_manager.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace grafos::registry {

/// The policy of the fabric TSA: under the project's OID arc (the UUID-derived arc of
/// pki/federation.hpp, 2.25.22471549674437839168046222397920535751; .3 holds timestamp policies,
/// .3.1 is this TSA's first policy). Documented in grafos-registry(1).
inline constexpr std::string_view kTsaPolicyOid = "2.25.22471549674437839168046222397920535751.3.1";

/// The accuracy every token states (RFC 3161 2.4.2 accuracy.seconds).
inline constexpr int kTsaAccuracySeconds = 1;

/// Serials reserved per database transaction.
inline constexpr std::uint64_t kSerialBlock = 1024;

/// Largest timestamp query accepted (a SHA-512 query with a nonce and extensions is < 200 bytes).
inline constexpr std::size_t kMaxTimestampQuery = 4096;

/// Reserves `count` consecutive serials durably and returns the first one (> 0). The registry
/// passes Store::reserve_tsa_serials; tests may pass a counter of their own.
using SerialReserver = std::function<Result<std::uint64_t>(std::uint64_t count)>;

/// One answer.
struct TsaReply {
  std::string der;       ///< the DER TimeStampResp
  bool granted = false;  ///< PKIStatus granted (a token is inside)
  std::string summary;   ///< for the audit log: "granted serial 17", "rejection: badAlg"
};

/// What the TSA signs with.
struct TsaConfig {
  std::string cert_path;  ///< PEM: the TSA certificate first, then (optionally) its chain
  std::string key_ref;    ///< any key reference hsm::load_key accepts (file, pkcs11:, TPM)
  hsm::Interaction interaction;
};

/// A TSA: thread-safe; each request uses a TS_RESP_CTX of its own (pooled and reused).
class Tsa {
 public:
  ~Tsa();
  Tsa(const Tsa&) = delete;
  Tsa& operator=(const Tsa&) = delete;

  /// Loads the certificate and key (the key must match the certificate, and the certificate must
  /// be fit for timestamping: EKU timeStamping only, critical). Errc::invalid_input for a
  /// certificate that is not a TSA certificate; the key loader's codes otherwise.
  static Result<std::unique_ptr<Tsa>> open(const TsaConfig& cfg);

  /// Where serials come from; set once, before the first respond().
  void use_serials(SerialReserver reserve);

  /// Answers one DER TimeStampReq with a DER TimeStampResp (granted or a rejection status).
  /// Errc::bad_request when `query` is not one DER TimeStampReq (nothing to answer in RFC 3161
  /// terms); Errc::storage when no serial could be reserved; Errc::crypto when signing failed.
  Result<TsaReply> respond(std::string_view query);

  /// The TSA certificate's subject, for logs.
  std::string subject() const;

  struct Impl;

 private:
  Tsa() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace grafos::registry
