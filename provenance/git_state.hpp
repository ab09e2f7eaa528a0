// The source state recorded in a provenance record, read with libgit2.
#pragma once

#include <string>

#include "util/result.hpp"

namespace grafos::provenance {

/// HEAD's commit and whether tracked files differ from it.
struct SourceState {
  std::string commit;  ///< HEAD commit id, lowercase hex
  bool dirty = false;  ///< a tracked file differs between HEAD, the index or the working tree
};

/// Reads the state of the repository whose root (working directory or bare git dir) is `repo`.
/// No upward search: `repo` must be the root itself. Dirty means a tracked file is modified,
/// staged, deleted, renamed or type-changed (index or working tree); untracked and ignored files
/// do not make the tree dirty (they are not part of the commit); a submodule checked out at
/// another commit than the one recorded does.
Result<SourceState> read_source_state(const std::string& repo);

}  // namespace grafos::provenance
