// Fault injection for the CLI tests, loaded with LD_PRELOAD: renameat2(2) fails with EIO when its
// destination path contains the value of GRAFOS_FAULT_RENAME (unset or empty: no fault). A disk
// that fails at the moment a run commits its outputs cannot be produced for real by the root user
// the tests run as; this is the suite's one injected fault, and it only makes a real system call
// fail. With GRAFOS_FAULT_RENAME_STOP=1 the process instead stops itself (SIGSTOP) just before
// that rename, so a test can SIGKILL it at exactly that point: a real kill, at a chosen moment.
#include <dlfcn.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

extern "C" int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                         unsigned int flags) {
  const char* pattern = std::getenv("GRAFOS_FAULT_RENAME");
  if (pattern && *pattern && newpath && std::strstr(newpath, pattern)) {
    if (const char* stop = std::getenv("GRAFOS_FAULT_RENAME_STOP"); stop && *stop == '1') {
      raise(SIGSTOP);
    }
    errno = EIO;
    return -1;
  }
  using Fn = int (*)(int, const char*, int, const char*, unsigned int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "renameat2"));
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  return real(olddirfd, oldpath, newdirfd, newpath, flags);
}
