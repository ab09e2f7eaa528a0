// RFC 3161 timestamps in a Sigstore bundle v0.3 (Sigstore's rule: the token's message imprint is
// the SHA-256 of the DSSE envelope's signature bytes, as decoded from base64).
//
//   bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[] =
//       { "signedTimestamp": b64(DER TimeStampResp's token, i.e. the CMS ContentInfo) }
//
// A token is checked with OpenSSL's TS API: CMS signature, TSA chain to the given anchors, the TSA
// certificate's extended key usage (timeStamping only, critical) and the imprint. This part of
// the provenance library needs no libgit2 (grafos-admin links it).
#pragma once

#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace grafos::provenance {

/// The bytes a timestamp covers for a bundle: SHA-256 (32 raw bytes) of the DSSE envelope's one
/// signature, base64-decoded. Errc::invalid_input when the bundle has no such signature.
Result<std::string> timestamp_imprint(const nlohmann::json& bundle);
/// Same, over the bundle's text (strictly parsed).
Result<std::string> timestamp_imprint(std::string_view bundle_text);

/// Adds `token_der` (a DER TimeStampToken, the CMS ContentInfo; a whole DER TimeStampResp with
/// status granted is accepted and its token taken) to the bundle's rfc3161Timestamps. Refuses
/// (Errc::invalid_input) a token that does not parse, whose imprint is not the bundle's
/// timestamp_imprint, or that the bundle already holds. Does not check the TSA's trust: the
/// caller (or verify) does that.
Result<void> attach_timestamp(nlohmann::json& bundle, std::string_view token_der);
/// Same over the bundle's text; returns the new bundle text (canonical JSON form).
Result<std::string> attach_timestamp(std::string_view bundle_text, std::string_view token_der);

/// The DER TimeStampToken inside a DER TimeStampResp (status granted or grantedWithMods).
/// Errc::invalid_input otherwise.
Result<std::string> token_from_response(std::string_view response_der);

/// What a checked timestamp says.
struct TimestampInfo {
  std::time_t gen_time = 0;  ///< genTime (seconds; fractions dropped)
  std::string tsa_subject;   ///< one-line subject DN of the TSA certificate
  std::string serial;        ///< the token's serial number, hex
  std::string policy;        ///< the TSA policy OID, dotted
};

/// How tokens are checked.
struct TimestampCheckOptions {
  /// PEM text of the trust anchors for TSA certificates (the fabric CA, or --tsa-ca).
  std::string anchors_pem;
  /// How messages name the anchors.
  std::string anchors_name = "the fabric CA certificate";
  /// Extra untrusted intermediates (PEM) offered for the TSA chain; may be empty.
  std::string intermediates_pem;
};

/// Checks one DER TimeStampToken against `imprint` (32 raw bytes): CMS signature by the TSA
/// certificate (taken from the token or the intermediates), the TSA chain to the anchors at the
/// token's genTime, the TSA certificate's EKU (timeStamping only, critical), the imprint
/// algorithm (SHA-256) and value. Errc::mismatch for an untrusted TSA, a non-TSA certificate or
/// an imprint over other bytes; Errc::invalid_input for a token that does not parse.
Result<TimestampInfo> check_timestamp_token(std::string_view token_der, std::string_view imprint,
                                            const TimestampCheckOptions& options);

/// The bundle's rfc3161Timestamps tokens (DER), in order; empty when the bundle has none.
/// Errc::invalid_input for a malformed timestampVerificationData (unknown fields, bad base64);
/// Errc::mismatch for a token given twice.
Result<std::vector<std::string>> bundle_timestamps(const nlohmann::json& bundle);

/// Checks every timestamp in the bundle (bundle_timestamps, check_timestamp_token); returns
/// their infos in order (empty: the bundle has no timestamp).
Result<std::vector<TimestampInfo>> check_bundle_timestamps(const nlohmann::json& bundle,
                                                           const TimestampCheckOptions& options);

/// Refuses (Errc::mismatch) a timestamp whose genTime lies outside the signer certificate's
/// validity period.
Result<void> check_signed_within_validity(X509* signer, const TimestampInfo& timestamp);

/// With a CRL (PEM or DER, issued and signed by one of the CA certificates in `ca_pem`, its
/// nextUpdate not passed now): refuses (Errc::mismatch) a signer revoked at or before the
/// timestamp's genTime. A signer revoked after genTime made its signature while valid.
Result<void> check_not_revoked_before(X509* signer, const std::string& ca_pem,
                                      const std::string& crl, const TimestampInfo& timestamp,
                                      const std::string& ca_name);

/// Refuses (Errc::mismatch) a certificate that is not a time-stamping authority as RFC 3161 2.3
/// requires: extendedKeyUsage present, critical, and timeStamping alone.
Result<void> check_tsa_profile(X509* cert);

/// UTC text of a time, as messages and reports print it (2026-12-05T02:29:05Z).
std::string timestamp_text(std::time_t t);

}  // namespace grafos::provenance
