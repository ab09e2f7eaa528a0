// The timestamping client of `grafos-admin timestamp`: asks an RFC 3161 TSA for a token over a
// provenance bundle's signature (Sigstore's rule, provenance/timestamp.hpp), verifies the reply
// and stores the token in the bundle.
//
// The query (OpenSSL TS API): version 1, a SHA-256 message imprint of the bundle's DSSE signature
// bytes, a random 64-bit nonce, certReq true, no policy. It is POSTed as
// application/timestamp-query (RFC 3161 section 3.4) with libcurl: to the fabric's own TSA
// (grafos-registry, https:// with the client certificate and --ca) or to any RFC 3161 TSA over
// http:// or https://. The reply must be application/timestamp-reply, status granted, and pass
// TS_RESP_verify_response: version, nonce, imprint, CMS signature, the TSA certificate's EKU
// (timeStamping only, critical) and its chain to the TSA anchors (the fabric CA, or another CA).
// Nothing is written unless all of that holds; the bundle is then replaced atomically.
#pragma once

#include <ctime>
#include <string>

#include "hsm/key_manager.hpp"
#include "util/result.hpp"

namespace grafos::admin {

/// What `grafos-admin timestamp` asks for.
struct TimestampRequest {
  std::string tsa_url;  ///< http:// or https:// URL of the TSA (ours: .../api/v1/timestamp)
  std::string input;    ///< the signed bundle (Sigstore bundle v0.3)
  std::string output;   ///< where the timestamped bundle goes; empty: replace `input`
  bool force = false;   ///< replace an existing `output`
  std::string tsa_ca;   ///< PEM anchors for the TSA certificate; empty: `ca`
  std::string ca;       ///< the fabric CA (verifies an https:// TSA, and the TSA by default)
  std::string cert;     ///< client certificate for an https:// TSA (optional)
  std::string key;      ///< its key reference (file, pkcs11:, TPM)
  long timeout_ms = 30'000;
  long connect_timeout_ms = 10'000;
  hsm::Interaction interaction;
};

/// What was stored.
struct TimestampOutcome {
  std::string path;         ///< the file written
  std::time_t gen_time{};   ///< the token's genTime
  std::string serial;       ///< the token's serial (hex)
  std::string tsa_subject;  ///< the TSA certificate's subject
};

/// Builds the query, sends it, verifies the reply and writes the bundle. Errors: usage (bad URL,
/// no anchors), file_missing / io (inputs), invalid_input (a bundle without a DSSE signature, a
/// reply that is not a timestamp reply, a rejection), mismatch (the reply does not verify: nonce,
/// imprint, signature or TSA chain), network / tls (transport), exists (output without force).
Result<TimestampOutcome> timestamp_bundle(const TimestampRequest& req);

}  // namespace grafos::admin
