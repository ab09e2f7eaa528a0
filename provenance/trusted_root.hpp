// A Sigstore trusted root (protobuf-specs dev.sigstore.trustroot.v1.TrustedRoot, JSON form) for the
// fabric: the fabric CA as the one certificate authority, the fabric (or an outside) RFC 3161 TSA
// as the timestamp authority, and no transparency or certificate-transparency logs. Sigstore's own
// verifiers check our bundles with it (tlog and ctlog thresholds 0, timestamp threshold 1).
//
//   { "mediaType": "application/vnd.dev.sigstore.trustedroot.v0.1+json",
//     "tlogs": [], "ctlogs": [],
//     "certificateAuthorities": [ { "subject": {"organization": O, "commonName": CN},
//                                   "certChain": {"certificates": [{"rawBytes": b64 DER}, ...]},
//                                   "validFor": {"start": RFC 3339, "end": RFC 3339} } ],
//     "timestampAuthorities": [ same shape, chain from the TSA certificate to its root ] }
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "provenance/output.hpp"
#include "util/result.hpp"

namespace grafos::provenance {

inline constexpr std::string_view kTrustedRootMediaType =
    "application/vnd.dev.sigstore.trustedroot.v0.1+json";

/// The trusted root's JSON text (canonical form) for the fabric CA certificates in `ca_pem`
/// (the issuing CA first, its root last) and, when given, the TSA certificate in `tsa_pem`
/// (leaf first, then any intermediates; its chain is completed with `ca_pem` when it was issued
/// by the fabric CA). Refuses (Errc::invalid_input) a CA file without a CA certificate, and a TSA
/// certificate that is not a time-stamping authority (EKU timeStamping alone, critical) or whose
/// chain does not verify now.
Result<std::string> make_trusted_root(const std::string& ca_pem,
                                      const std::optional<std::string>& tsa_pem);

/// What grafos-ca image-provenance trusted-root needs.
struct TrustedRootRequest {
  std::filesystem::path ca;                       ///< the fabric CA certificate (PEM)
  std::optional<std::filesystem::path> tsa_cert;  ///< the TSA certificate (PEM)
  /// Where the trusted root goes.
  Destination output{std::filesystem::path("trusted_root.json")};
};

/// Refuses an existing output without `force` first, then reads the files, builds the trusted
/// root and writes it atomically (0644). On any refusal nothing is written.
Result<Written> write_trusted_root(const TrustedRootRequest& request);

}  // namespace grafos::provenance
