// Where a provenance command's result goes: a new file (never replacing one without `force`), or
// back to the caller, which prints it. Shared by build and sign.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace grafos::provenance {

/// Where build or sign puts its result.
struct Destination {
  std::optional<std::filesystem::path> path;  ///< the file; unset: returned to the caller only
  bool force = false;                         ///< replace an existing file
};

/// What build or sign produced.
struct Written {
  /// The file written; unset when the request named no output file (the caller prints `text`).
  std::optional<std::filesystem::path> output;
  std::string text;            ///< the record or bundle as written (canonical JSON)
  bool signed_bundle = false;  ///< `text` is a signed Sigstore bundle, not a bare record
  size_t binaries = 0;         ///< how many binaries the record lists
  std::string commit;          ///< the record's source.commit
  bool dirty = false;          ///< the record's source.dirty: built from uncommitted changes
};

/// Refuses (Errc::exists) when anything (file, directory, symlink) is at the destination's path
/// and `force` is not set. Run before any work is done, so that a refused command costs nothing.
Result<void> check_output_free(const Destination& output);

/// Writes `text` to the destination's path (mode 0644, atomically; replacing only with `force`).
/// No path: nothing is written.
Result<void> write_output(const Destination& output, const std::string& text);

}  // namespace grafos::provenance
