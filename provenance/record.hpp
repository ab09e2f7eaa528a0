// The image provenance record (schema_version 1, DESIGN.md section 5) and its canonical form.
//
// Canonical form (what build writes and what "byte-identical for the same inputs" refers to):
// nlohmann-json serialisation with object keys sorted by byte value, two-space indentation,
// ": " after keys, non-ASCII UTF-8 written as is (never \u-escaped), and one trailing newline.
// Arrays keep their order (`binaries` is in the order the build was given). Records are read
// strictly (duplicate keys, trailing bytes and invalid UTF-8 are refused); fields this version does
// not know, and everything under `reserved`, are kept and written back unchanged.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provenance/hash.hpp"
#include "util/result.hpp"

namespace grafos::provenance {

/// The only schema version this tool writes and reads.
inline constexpr int kSchemaVersion = 1;

/// One entry of `binaries`.
struct RecordBinary {
  std::string path;    ///< as given to the build
  std::string sha256;  ///< 64 lowercase hex
  uint64_t size = 0;   ///< bytes
};

/// What make_record needs (the record part of a build; provenance/build.hpp adds signing and
/// the output).
struct RecordRequest {
  std::string image_kind;             ///< free-form image kind tag ("aws-ami", ...)
  std::string image_name;             ///< free-form image name
  std::vector<std::string> binaries;  ///< paths of the binaries, in record order
  std::string repo = ".";             ///< root of the source repository
  /// SOURCE_DATE_EPOCH as found in the environment (unset: the current time is used).
  std::optional<std::string> source_date_epoch;
  HashOptions hash;  ///< threads, progress
};

/// Makes the record: hashes every binary, reads the git state, fills build host/user/time and
/// the reserved fields. Any binary that cannot be hashed fails the whole build
/// (Errc::binary_missing for one that is not there, Errc::invalid_input for one that is not a
/// regular file, Errc::io). Request mistakes (no binary, a binary named twice, an empty kind or
/// name) are Errc::usage.
Result<nlohmann::json> make_record(const RecordRequest& request);

/// Serialises a JSON value in the canonical form described above.
Result<std::string> to_canonical_json(const nlohmann::json& value);

/// Serialises compactly (no whitespace), keys sorted: the in-toto statement payload.
Result<std::string> to_compact_json(const nlohmann::json& value);

/// Checks a parsed record against schema_version 1 and returns its binaries. Refuses (with
/// Errc::invalid_input) an unknown schema_version, missing or mistyped required fields, an empty
/// binary list, malformed digests and duplicate paths.
Result<std::vector<RecordBinary>> check_record(const nlohmann::json& record);

/// Formats a Unix time as RFC 3339 UTC ("2026-11-23T18:00:00Z").
std::string format_utc(int64_t unix_seconds);

/// Parses SOURCE_DATE_EPOCH (a non-negative decimal integer).
Result<int64_t> parse_source_date_epoch(std::string_view text);

}  // namespace grafos::provenance
