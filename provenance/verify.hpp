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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provenance/hash.hpp"
#include "provenance/record.hpp"
#include "util/result.hpp"

namespace grafos::provenance {

/// How verify_provenance runs.
struct VerifyOptions {
  /// --binary overrides, order-matched against the record; used when `use_overrides`.
  std::vector<std::string> overrides;
  bool use_overrides = false;
  /// PEM text of the trust anchors (--ca). Unset: only unsigned records are accepted.
  std::optional<std::string> ca_pem;
  /// Verification time for the certificate validity (unset: now). Tests only.
  std::optional<std::time_t> at_time;
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
  std::vector<BinaryCheck> binaries;

  /// True when every binary matched.
  bool ok() const;
};

/// Verifies `input` (a record or a bundle, as read from --input). Returns an error when the input
/// or the options are refused before hashing: Errc::invalid_input (malformed JSON, duplicate keys,
/// unknown schema_version, duplicate paths, bad base64, ...), Errc::usage (wrong number of
/// overrides, a bundle without a CA), Errc::mismatch (untrusted or wrong signer certificate,
/// signature that does not verify, wrong payload type, subjects that differ from the record, an
/// unsigned record when a CA is given). Otherwise the report lists every binary.
Result<VerifyReport> verify_provenance(std::string_view input, const VerifyOptions& options);

}  // namespace grafos::provenance
