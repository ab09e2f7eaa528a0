// Secrets (PINs, passphrases, bearer tokens): held in memory that is wiped on destruction, read
// from a file, an environment variable or a no-echo TTY prompt, never put in argv or messages.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace grafos {

/// A string whose buffer is cleansed when destroyed or reassigned. Not copyable.
class SecretString {
 public:
  SecretString() = default;
  /// Takes the bytes of `value` and cleanses what a move leaves behind in it (a short string's
  /// inline buffer keeps its bytes after std::move).
  explicit SecretString(std::string&& value) noexcept;
  /// Copies `value`; the caller still owns (and must wipe) the original.
  explicit SecretString(const std::string& value) : value_(value) {}
  /// Copies `value` (literals in tests; the caller owns the original).
  explicit SecretString(const char* value) : value_(value) {}
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() { wipe(); }

  /// The secret; never log or format it.
  std::string_view view() const noexcept { return value_; }
  const char* c_str() const noexcept { return value_.c_str(); }
  bool empty() const noexcept { return value_.empty(); }
  size_t size() const noexcept { return value_.size(); }
  /// A second SecretString holding the same bytes.
  SecretString duplicate() const { return SecretString(value_); }
  void wipe() noexcept;

 private:
  std::string value_;
};

/// Cleanses every byte of `s` (its whole capacity) and empties it.
void cleanse_string(std::string& s) noexcept;

/// Reads a secret from a file (first line, trailing CR/LF removed). The message on failure names
/// the file, never its content. An empty file gives an empty secret: callers refuse it.
Result<SecretString> read_secret_file(const std::string& path);

/// Reads a secret from environment variable `name`; Errc::secret_missing when unset. The value is
/// then cleansed in and removed from the environment (child processes and /proc/<pid>/environ never
/// see it) and kept in this process's memory, so a later read of the same name (a second key on
/// the same token) still finds it. A set but empty variable gives an empty secret: callers refuse
/// it.
Result<SecretString> read_secret_env(const char* name);

/// Prompts on /dev/tty with echo off; Errc::usage when there is no TTY. End of input (Ctrl-D)
/// with nothing typed gives an empty secret: callers refuse it.
Result<SecretString> prompt_secret(std::string_view prompt);

/// Keeps secrets out of core files: marks the process not dumpable (prctl PR_SET_DUMPABLE 0, which
/// also keeps other users' debuggers out) and sets RLIMIT_CORE to 0. Called first thing in main
/// by every tool. The process can still read its own /proc/self entries.
Result<void> disable_core_dumps();

}  // namespace grafos
