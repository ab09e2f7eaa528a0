// Verification of provenance records and signed bundles. Fail-closed: every path that is not a
// full match returns an error or a report whose ok() is false; no option relaxes a check.
//
// Order for a bundle (with a CA): bundle structure and strict base64; signer certificate chains
// to the given CA only (no default verify paths), is a provenance-signer leaf (codeSigning EKU,
// provenance-signer URN) within its validity; payloadType is in-toto's; the DSSE signature over
// PAE verifies; only then is the payload parsed (statement type, predicate type, record, subjects
// equal to the record's binaries); finally every binary is re-hashed.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provenance/hash.hpp"
#include "provenance/record.hpp"
#include "provenance/timestamp.hpp"
#include "util/result.hpp"

namespace grafos::provenance {

/// How verify_provenance runs.
struct VerifyOptions {
  /// Binary paths to hash instead of the record's, order-matched against the record; used when
  /// `use_overrides`.
  std::vector<std::string> overrides;
  bool use_overrides = false;
  /// PEM text of the trust anchors (the fabric CA). Unset: only unsigned records are accepted.
  std::optional<std::string> ca_pem;
  /// How messages name the CA: its default reads well anywhere; a tool passes its flag.
  std::string ca_name = "the fabric CA certificate";
  /// The fabric CA's CRL (PEM or DER); when set, a revoked signer is refused, and so is a CRL
  /// that is not the CA's or whose nextUpdate has passed (fail-closed).
  std::optional<std::string> crl;
  /// PEM trust anchors for timestamp authorities (--tsa-ca); unset: `ca_pem` also anchors TSAs.
  std::optional<std::string> tsa_ca_pem;
  /// How messages name `tsa_ca_pem`.
  std::string tsa_ca_name = "the TSA CA certificate";
  /// Verification time for the certificate validity (unset: now). Tests only.
  std::optional<std::time_t> at_time;
  /// Refuse an unsigned record (Errc::mismatch): only a signed bundle can say who made it.
  bool require_signed = false;
  /// Pins (like cosign's --certificate-identity): each set one must equal what the input says, or
  /// verification is refused (Errc::mismatch) before any binary is hashed. A signer pipeline can
  /// only be pinned on a signed bundle.
  std::optional<std::string> signer_pipeline;
  std::optional<std::string> image_name;
  std::optional<std::string> image_kind;
  /// Directory the record's relative binary paths are resolved against (unset: the working
  /// directory). Not used with `overrides`.
  std::optional<std::filesystem::path> root;
  /// Stop after the signature and payload checks (no re-hashing). Tests only.
  bool skip_hashing = false;
  HashOptions hash;  ///< threads, progress
};

/// Result for one binary.
struct BinaryCheck {
  std::string path;          ///< as named by the record
  std::string checked_path;  ///< what was hashed (the override, or the record's path)
  std::string expected_sha256;
  uint64_t expected_size = 0;
  FileDigest actual;   ///< status, digest, size or reason
  bool match = false;  ///< status ok, same size and same digest
};

/// What verification found.
struct VerifyReport {
  bool signed_bundle = false;  ///< the input was a signed bundle (and its signature holds)
  std::string signer_subject;  ///< signer certificate subject (signed bundles)
  std::string pipeline;        ///< provenance-signer pipeline name (signed bundles)
  nlohmann::json record;       ///< the record that was checked
  /// The bundle's checked RFC 3161 timestamps; the signer was validated at each one's genTime.
  /// Empty for a signed bundle: it was validated at the current time.
  std::vector<TimestampInfo> timestamps;
  std::string image_kind;  ///< the record's image.kind
  std::string image_name;  ///< the record's image.name
  std::string commit;      ///< the record's source.commit
  bool dirty = false;      ///< the record's source.dirty
  std::vector<BinaryCheck> binaries;

  /// True when every binary matched.
  bool ok() const;
};

/// Verifies `input` (a record or a bundle, as read from its file). Returns an error when the input
/// or the options are refused before hashing: Errc::invalid_input (malformed JSON, duplicate keys,
/// unknown schema_version, duplicate paths, bad base64, ...), Errc::usage (wrong number of
/// overrides, a bundle without a CA), Errc::mismatch (untrusted or wrong signer certificate,
/// signature that does not verify, wrong payload type, subjects that differ from the record, an
/// unsigned record when a CA is given). Otherwise the report lists every binary.
Result<VerifyReport> verify_provenance(std::string_view input, const VerifyOptions& options);

/// What grafos-ca image-provenance verify needs.
struct VerifyRequest {
  std::filesystem::path input;  ///< the record or signed bundle
  /// The fabric CA certificate file (PEM); required for a bundle, refused with a bare record.
  std::optional<std::filesystem::path> ca;
  /// How messages name the CA (VerifyOptions::ca_name).
  std::string ca_name = "the fabric CA certificate";
  /// The fabric CA's CRL file (VerifyOptions::crl); needs `ca`.
  std::optional<std::filesystem::path> crl;
  /// Trust anchors for timestamp authorities (PEM file; VerifyOptions::tsa_ca_pem).
  std::optional<std::filesystem::path> tsa_ca;
  /// How messages name it.
  std::string tsa_ca_name = "the TSA CA certificate";
  /// Paths to hash instead of the record's, order-matched against it (runtime locations).
  std::optional<std::vector<std::string>> binaries;
  /// Directory the record's relative paths are resolved against (VerifyOptions::root).
  std::optional<std::filesystem::path> root;
  bool require_signed = false;                 ///< VerifyOptions::require_signed
  std::optional<std::string> signer_pipeline;  ///< VerifyOptions::signer_pipeline
  std::optional<std::string> image_name;       ///< VerifyOptions::image_name
  std::optional<std::string> image_kind;       ///< VerifyOptions::image_kind
  HashOptions hash;                            ///< threads, progress
};

/// What verify found about `input`.
struct VerifyResponse {
  std::filesystem::path input;  ///< the record or bundle that was verified
  VerifyReport report;          ///< the signer (for a bundle) and every binary's result

  /// How many binaries do not match.
  size_t mismatches() const;
  /// ok when every binary matched; Errc::mismatch naming how many did not otherwise.
  Result<void> verdict() const;
};

/// Reads the input (and the CA file) and runs verify_provenance. Errors are those of
/// verify_provenance plus Errc::file_missing / Errc::io for a file that cannot be read; a binary
/// that differs or is missing is not an error but a report entry (see verdict()).
Result<VerifyResponse> verify_image_provenance(const VerifyRequest& request);

}  // namespace grafos::provenance
