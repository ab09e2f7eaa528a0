// Where a provenance command's result goes: a new file (never replacing one without `force`), or
// back to the caller, which prints it. Shared by build and sign.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace grafos::provenance {

/// What build or sign produced.
struct Written {
  /// The file written; unset when the request named no output file (the caller prints `text`).
  std::optional<std::filesystem::path> output;
  std::string text;            ///< the record or bundle as written (canonical JSON)
  bool signed_bundle = false;  ///< `text` is a signed Sigstore bundle, not a bare record
  size_t binaries = 0;         ///< how many binaries the record lists
};

/// Refuses (Errc::exists) when anything (file, directory, symlink) is at `output` and `force` is
/// not set. Run before any work is done, so that a refused command costs nothing.
Result<void> check_output_free(const std::optional<std::filesystem::path>& output, bool force);

/// Writes `text` to `output` (mode 0644, atomically; replacing only with `force`). No output:
/// nothing is written.
Result<void> write_output(const std::optional<std::filesystem::path>& output,
                          const std::string& text, bool force);

}  // namespace grafos::provenance
