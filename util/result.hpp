// Result<T>: the error-or-value type every library function returns.
//
// g++ 12 has no std::expected in C++20, so this is a small subset of its interface. Errors
// carry a code (mapped to documented exit statuses by the tools) and a message that callers
// extend with context. No exception crosses a library API.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace grafos {

/// What went wrong, in the terms of the part that found it. Libraries set it and keep their
/// messages human (no wire codes, no CLI flags); only the tools map it to exit statuses
/// (tools/common/tool.cpp, one table) and only grafos-registry maps it to HTTP statuses and wire
/// codes (registry/, one table).
enum class Errc {
  usage = 1,         ///< flags or arguments the command cannot accept
  invalid_input,     ///< identity/SAN grammar, malformed file, policy refusal of a CSR
  exists,            ///< an output already exists and --force was not given
  file_missing,      ///< a local input file or directory does not exist
  secret_missing,    ///< a secret's source (environment variable, file) is not set
  token_missing,     ///< a PKCS#11 token or token object, or a TPM key, is not there
  io,                ///< reading or writing a file failed
  crypto,            ///< an OpenSSL operation failed, or a signature did not verify
  seal_open_failed,  ///< a sealed blob did not open: wrong seal secret, wrong AAD, or modified
  key_backend,       ///< PKCS#11 module, token or TPM failure, or the key does not match
  pin,               ///< PIN rejected, locked or on its final try; passphrase wrong
  policy,            ///< the profile linter refused a certificate before signing
  mismatch,          ///< provenance: a binary differs from the record
  binary_missing,    ///< provenance: a recorded binary is not on disk
  network,           ///< connection refused, timeout, DNS
  tls,               ///< TLS handshake or peer verification failed
  unauthorized,      ///< not authenticated (HTTP 401 either side)
  forbidden,         ///< authenticated, but the role may not do this (HTTP 403 either side)
  conflict,          ///< the server refused a change that conflicts with its state (HTTP 409)
  remote_not_found,  ///< the server has no such resource (HTTP 404 as a client sees it)
  // The registry's domain (store and handlers); the server maps each to a status and wire code.
  bad_request,               ///< a request the API cannot accept (malformed body, bad field)
  bad_name,                  ///< a tenant name outside its grammar
  limit_exceeded,            ///< a quantity above its documented maximum
  tenant_exists,             ///< a tenant of that name exists
  tenant_not_found,          ///< no tenant of that name or id
  tenant_has_active_leases,  ///< delete without force while leases are active
  quota_below_usage,         ///< a quota under the tenant's current usage, without force
  quota_exceeded,            ///< a lease would take the tenant over its quota
  lease_not_found,           ///< no lease with that id
  lease_not_active,          ///< the lease is released, expired or fenced
  lease_not_fenced,          ///< unfence of a lease that is not fenced
  token_exists,              ///< an admin token of that name exists
  token_not_found,           ///< no admin token of that name
  cell_not_registered,       ///< a cell polled before registering
  endpoint_not_found,        ///< no such API endpoint
  // Federation enrollment (seed 001): each refusal of a token its own code.
  enrollment_token_unknown,  ///< no enrollment token with that digest (or a flipped character)
  enrollment_token_used,     ///< the single-use token was already redeemed
  enrollment_token_expired,  ///< the token's TTL has passed
  grant_revoked,             ///< the grant was revoked (final)
  grant_expired,             ///< the grant is past its expiry
  grant_already_active,      ///< another enrollment activated the grant first
  storage,                   ///< the database failed (HTTP 500; the cause is logged)
  internal,                  ///< a bug: an invariant did not hold
};

/// Stable name of an error code, for JSON output and tests.
std::string_view errc_name(Errc code);

/// An error: a code plus a human-readable message with context.
struct Error {
  Errc code = Errc::internal;
  std::string message;

  /// Returns this error with `context` prefixed: "context: message".
  [[nodiscard]] Error context(std::string_view ctx) const& {
    return Error{code, std::string(ctx) + ": " + message};
  }
  [[nodiscard]] Error context(std::string_view ctx) && {
    message.insert(0, std::string(ctx) + ": ");
    return std::move(*this);
  }
};

/// Builds an Error.
inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

/// Value-or-error, modelled on std::expected.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return check(), std::get<0>(v_); }
  const T& value() const& { return check(), std::get<0>(v_); }
  T&& value() && { return check(), std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  void check() const {
    if (v_.index() != 0) std::abort();  // value() on an error is a programming bug
  }
  std::variant<T, Error> v_;
};

/// Result with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const {
    if (!ok_) std::abort();
  }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

/// Success value for Result<void>.
inline Result<void> ok() { return {}; }

}  // namespace grafos
