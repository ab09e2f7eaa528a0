#include "util/secret.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "util/file_io.hpp"

namespace grafos {

void cleanse_string(std::string& s) noexcept {
  // The whole capacity: a shorter current value may sit over an earlier, longer one.
  if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
  s.clear();
}

SecretString::SecretString(std::string&& value) noexcept : value_(std::move(value)) {
  cleanse_string(value);
}

SecretString::SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
  other.wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

void SecretString::wipe() noexcept { cleanse_string(value_); }

namespace {
void strip_line_end(std::string& s) {
  auto nl = s.find_first_of("\r\n");
  if (nl != std::string::npos) {
    OPENSSL_cleanse(s.data() + nl, s.size() - nl);
    s.resize(nl);
  }
}

// Secrets taken out of the environment, by variable name, for later reads in this process.
std::mutex g_env_mu;
std::map<std::string, SecretString, std::less<>>& env_secrets() {
  static std::map<std::string, SecretString, std::less<>> secrets;  // wiped at exit
  return secrets;
}

// The longest secret a prompt accepts; the buffer is reserved once so it never reallocates.
constexpr size_t kMaxPromptSecret = 1024;
}  // namespace

Result<SecretString> read_secret_file(const std::string& path) {
  std::string content;
  if (auto r = read_file_into(path, content, 64 * 1024); !r)
    return std::move(r).error().context("reading secret file");
  strip_line_end(content);
  return SecretString(std::move(content));
}

Result<SecretString> read_secret_env(const char* name) {
  std::lock_guard lock(g_env_mu);
  auto& secrets = env_secrets();
  if (char* v = std::getenv(name)) {
    std::string value(v);
    OPENSSL_cleanse(v, std::strlen(v));
    ::unsetenv(name);
    secrets.insert_or_assign(std::string(name), SecretString(value));
    return SecretString(std::move(value));
  }
  if (auto it = secrets.find(std::string_view(name)); it != secrets.end())
    return it->second.duplicate();
  return Error{Errc::secret_missing, std::string(name) + " is not set"};
}

Result<SecretString> prompt_secret(std::string_view prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return Error{Errc::usage,
                 "no terminal to prompt for a secret; provide it by file or environment"};
  struct termios old_t;
  bool have_t = ::tcgetattr(fd, &old_t) == 0;
  if (have_t) {
    struct termios t = old_t;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &t);
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string value;
  value.reserve(kMaxPromptSecret);  // never reallocated: no unwiped copy left on the heap
  bool too_long = false;
  char c = 0;
  while (true) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n' || c == '\r') break;
    if (value.size() == kMaxPromptSecret) {
      too_long = true;
      continue;  // read the rest of the line, keep none of it
    }
    value.push_back(c);
  }
  OPENSSL_cleanse(&c, sizeof c);
  if (have_t) ::tcsetattr(fd, TCSAFLUSH, &old_t);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  if (too_long) {
    cleanse_string(value);
    return Error{Errc::usage,
                 "the secret typed is longer than " + std::to_string(kMaxPromptSecret) + " bytes"};
  }
  return SecretString(std::move(value));
}

Result<void> disable_core_dumps() {
  struct rlimit none = {0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0)
    return Error{
        Errc::internal,
        std::string("cannot disable core dumps (setrlimit RLIMIT_CORE): ") + std::strerror(errno)};
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return Error{
        Errc::internal,
        std::string("cannot disable core dumps (prctl PR_SET_DUMPABLE): ") + std::strerror(errno)};
  return ok();
}

}  // namespace grafos
