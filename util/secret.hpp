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
  explicit SecretString(std::string value) : value_(std::move(value)) {}
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
  void wipe() noexcept;

 private:
  std::string value_;
};

/// Reads a secret from a file (first line, trailing CR/LF removed). The message on failure names
/// the file, never its content.
Result<SecretString> read_secret_file(const std::string& path);

/// Reads a secret from environment variable `name`; Errc::not_found when unset.
Result<SecretString> read_secret_env(const char* name);

/// Prompts on /dev/tty with echo off; Errc::usage when there is no TTY.
Result<SecretString> prompt_secret(std::string_view prompt);

}  // namespace grafos
