#include "util/secret.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/file_io.hpp"

namespace grafos {

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

void SecretString::wipe() noexcept {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  // Cleanse the whole capacity too: short-string or earlier, longer contents may linger.
  if (value_.capacity() > 0) OPENSSL_cleanse(value_.data(), value_.capacity());
  value_.clear();
}

namespace {
void strip_line_end(std::string& s) {
  auto nl = s.find_first_of("\r\n");
  if (nl != std::string::npos) {
    OPENSSL_cleanse(s.data() + nl, s.size() - nl);
    s.resize(nl);
  }
}
}  // namespace

Result<SecretString> read_secret_file(const std::string& path) {
  auto content = read_file(path, 64 * 1024);
  if (!content) return std::move(content).error().context("reading secret file");
  strip_line_end(*content);
  SecretString s(std::move(*content));
  return s;
}

Result<SecretString> read_secret_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return Error{Errc::not_found, std::string(name) + " is not set"};
  return SecretString(std::string(v));
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
  char c;
  while (true) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n' || c == '\r') break;
    value.push_back(c);
  }
  c = 0;
  if (have_t) ::tcsetattr(fd, TCSAFLUSH, &old_t);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  return SecretString(std::move(value));
}

}  // namespace grafos
