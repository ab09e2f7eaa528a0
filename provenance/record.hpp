// The image provenance record (schema_version 1, DESIGN.md section 5) and its canonical form.
//
// Canonical form (what build writes and what "byte-identical for the same inputs" refers to):
// nlohmann-json serialisation with object keys sorted by byte value, two-space indentation,
// ": " after keys, non-ASCII UTF-8 written as is (never \u-escaped), and one trailing newline.
// Arrays keep their order (`binaries` is in --binary order). Records are read strictly
// (duplicate keys, trailing bytes and invalid UTF-8 are refused); fields this version does not
// know, and everything under `reserved`, are kept and written back unchanged.
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
  std::string path;    ///< as given to --binary at build time
  std::string sha256;  ///< 64 lowercase hex
  uint64_t size = 0;   ///< bytes
};

/// What build_record needs.
struct BuildRequest {
  std::string image_kind;             ///< --image-kind
  std::string image_name;             ///< --image-name
  std::vector<std::string> binaries;  ///< --binary, in order
  std::string repo = ".";             ///< --repo
  /// SOURCE_DATE_EPOCH as found in the environment (unset: the current time is used).
  std::optional<std::string> source_date_epoch;
  HashOptions hash;  ///< threads, progress
};

/// Builds the record: hashes every binary, reads the git state, fills build host/user/time and
/// the reserved fields. Any binary that cannot be hashed fails the whole build.
Result<nlohmann::json> build_record(const BuildRequest& request);

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
