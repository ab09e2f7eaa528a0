#include "provenance/git_state.hpp"

#include <git2.h>

#include <memory>

namespace grafos::provenance {

namespace {

Error libgit2_error(const std::string& what, int rc) {
  const ::git_error* e = git_error_last();
  std::string msg = what + " (libgit2 error " + std::to_string(rc);
  if (e && e->message) msg += ": " + std::string(e->message);
  msg += ")";
  return Error{Errc::invalid_input, msg};
}

struct Lib {
  Lib() { git_libgit2_init(); }
  ~Lib() { git_libgit2_shutdown(); }
};

}  // namespace

Result<SourceState> read_source_state(const std::string& repo_path) {
  Lib lib;
  git_repository* raw = nullptr;
  int rc = git_repository_open_ext(&raw, repo_path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0)
    return libgit2_error("--repo '" + repo_path + "' is not the root of a git repository", rc);
  std::unique_ptr<git_repository, decltype(&git_repository_free)> repo(raw, git_repository_free);

  git_oid oid;
  rc = git_reference_name_to_id(&oid, repo.get(), "HEAD");
  if (rc != 0) return libgit2_error("reading HEAD of '" + repo_path + "' (no commits yet?)", rc);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, &oid);

  SourceState state;
  state.commit = hex;
  if (git_repository_is_bare(repo.get())) return state;  // no working tree: nothing can differ

  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  // No INCLUDE_UNTRACKED / INCLUDE_IGNORED: only tracked content (submodule commits included)
  // decides "dirty".
  opts.flags = GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX;
  git_status_list* list = nullptr;
  rc = git_status_list_new(&list, repo.get(), &opts);
  if (rc != 0) return libgit2_error("reading the status of '" + repo_path + "'", rc);
  size_t n = git_status_list_entrycount(list);
  for (size_t i = 0; i < n && !state.dirty; ++i) {
    const git_status_entry* e = git_status_byindex(list, i);
    if (e && e->status != GIT_STATUS_CURRENT && !(e->status & GIT_STATUS_IGNORED))
      state.dirty = true;
  }
  git_status_list_free(list);
  return state;
}

}  // namespace grafos::provenance
