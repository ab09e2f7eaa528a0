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
struct Git2 {
  decltype(&::git_libgit2_init) libgit2_init = nullptr;
  decltype(&::git_libgit2_shutdown) libgit2_shutdown = nullptr;
  decltype(&::git_error_last) error_last = nullptr;
  decltype(&::git_repository_open_ext) repository_open_ext = nullptr;
  decltype(&::git_repository_free) repository_free = nullptr;
  decltype(&::git_repository_is_bare) repository_is_bare = nullptr;
  decltype(&::git_reference_name_to_id) reference_name_to_id = nullptr;
  decltype(&::git_oid_tostr) oid_tostr = nullptr;
  decltype(&::git_status_list_new) status_list_new = nullptr;
  decltype(&::git_status_list_entrycount) status_list_entrycount = nullptr;
  decltype(&::git_status_byindex) status_byindex = nullptr;
  decltype(&::git_status_list_free) status_list_free = nullptr;
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
      failure = std::string("reading --repo needs libgit2 (") + GRAFOS_LIBGIT2_SONAME +
                ", Debian package libgit2-1.5 or the version grafos-ca was built with): " +
                (why ? why : "dlopen failed");
      return;
    }
    Git2 t;
    const char* missing = nullptr;
    auto need = [&](const char* name, auto& fn) {
      if (!missing && !resolve(h, name, fn)) missing = name;
    };
    need("git_libgit2_init", t.libgit2_init);
    need("git_libgit2_shutdown", t.libgit2_shutdown);
    need("git_error_last", t.error_last);
    need("git_repository_open_ext", t.repository_open_ext);
    need("git_repository_free", t.repository_free);
    need("git_repository_is_bare", t.repository_is_bare);
    need("git_reference_name_to_id", t.reference_name_to_id);
    need("git_oid_tostr", t.oid_tostr);
    need("git_status_list_new", t.status_list_new);
    need("git_status_list_entrycount", t.status_list_entrycount);
    need("git_status_byindex", t.status_byindex);
    need("git_status_list_free", t.status_list_free);
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
    return libgit2_error(g, "--repo '" + repo_path + "' is not the root of a git repository", rc);
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
