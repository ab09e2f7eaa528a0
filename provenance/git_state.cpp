#include "provenance/git_state.hpp"

#include <dlfcn.h>
#include <git2.h>

#include <memory>
#include <mutex>

#include "grafos_config.h"

namespace grafos::provenance {

namespace {

// libgit2 carries HTTP, SSH and TLS transports; grafos-ca links no network code (DESIGN.md
// section 1), so the library is loaded here, by soname, the first time a repository is read, and
// only the calls below are resolved. Nothing here opens a socket: local repositories only.
//
// The libgit2 calls used here, each named once: the table's members and their lookup.
#define GRAFOS_GIT2_CALLS(X) \
  X(libgit2_init)            \
  X(libgit2_shutdown)        \
  X(error_last)              \
  X(repository_open_ext)     \
  X(repository_free)         \
  X(repository_is_bare)      \
  X(reference_name_to_id)    \
  X(oid_tostr)               \
  X(status_list_new)         \
  X(status_list_entrycount)  \
  X(status_byindex)          \
  X(status_list_free)

struct Git2 {
#define GRAFOS_GIT2_MEMBER(name) decltype(&::git_##name) name = nullptr;
  GRAFOS_GIT2_CALLS(GRAFOS_GIT2_MEMBER)
#undef GRAFOS_GIT2_MEMBER
};

template <class F>
bool resolve(void* handle, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(handle, name));
  return out != nullptr;
}

Result<const Git2*> load_git2() {
  static std::once_flag once;
  static Git2 table;
  static std::string failure;
  std::call_once(once, [] {
    void* h = ::dlopen(GRAFOS_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = ::dlerror();
      failure = std::string("reading the source repository needs libgit2 (") +
                GRAFOS_LIBGIT2_SONAME +
                ", Debian package libgit2-1.5 or the version grafos-ca was built with): " +
                (why ? why : "dlopen failed");
      return;
    }
    Git2 t;
    const char* missing = nullptr;
#define GRAFOS_GIT2_RESOLVE(name) \
  if (!missing && !resolve(h, "git_" #name, t.name)) missing = "git_" #name;
    GRAFOS_GIT2_CALLS(GRAFOS_GIT2_RESOLVE)
#undef GRAFOS_GIT2_RESOLVE
    if (missing) {
      failure = std::string(GRAFOS_LIBGIT2_SONAME) + " has no symbol " + missing;
      ::dlclose(h);
      return;
    }
    table = t;  // the handle stays open for the life of the process
  });
  if (!failure.empty()) return Error{Errc::io, failure};
  return &table;
}

Error libgit2_error(const Git2& g, const std::string& what, int rc) {
  const ::git_error* e = g.error_last();
  std::string msg = what + " (libgit2 error " + std::to_string(rc);
  if (e && e->message) msg += ": " + std::string(e->message);
  msg += ")";
  return Error{Errc::invalid_input, msg};
}

struct Session {
  explicit Session(const Git2& g) : git(g) { git.libgit2_init(); }
  ~Session() { git.libgit2_shutdown(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  const Git2& git;
};

}  // namespace

Result<SourceState> read_source_state(const std::string& repo_path) {
  auto loaded = load_git2();
  if (!loaded) return std::move(loaded).error();
  const Git2& g = **loaded;
  Session session(g);
  git_repository* raw = nullptr;
  int rc = g.repository_open_ext(&raw, repo_path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0)
    return libgit2_error(g, "'" + repo_path + "' is not the root of a git repository", rc);
  std::unique_ptr<git_repository, decltype(g.repository_free)> repo(raw, g.repository_free);

  git_oid oid;
  rc = g.reference_name_to_id(&oid, repo.get(), "HEAD");
  if (rc != 0) return libgit2_error(g, "reading HEAD of '" + repo_path + "' (no commits yet?)", rc);
  char hex[GIT_OID_HEXSZ + 1] = {};
  g.oid_tostr(hex, sizeof hex, &oid);

  SourceState state;
  state.commit = hex;
  if (g.repository_is_bare(repo.get())) return state;  // no working tree: nothing can differ

  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  // No INCLUDE_UNTRACKED / INCLUDE_IGNORED: only tracked content (submodule commits included)
  // decides "dirty".
  opts.flags = GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX;
  git_status_list* list = nullptr;
  rc = g.status_list_new(&list, repo.get(), &opts);
  if (rc != 0) return libgit2_error(g, "reading the status of '" + repo_path + "'", rc);
  std::unique_ptr<git_status_list, decltype(g.status_list_free)> statuses(list, g.status_list_free);
  size_t n = g.status_list_entrycount(list);
  for (size_t i = 0; i < n && !state.dirty; ++i) {
    const git_status_entry* e = g.status_byindex(list, i);
    if (e && e->status != GIT_STATUS_CURRENT && !(e->status & GIT_STATUS_IGNORED))
      state.dirty = true;
  }
  return state;
}

}  // namespace grafos::provenance
