// Who is calling and what they may do: the mTLS principal from the verified client certificate,
// bearer tokens (cached per store state version), the disabled-tenant rule for both, and the
// role checks of each endpoint class.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/auth.hpp"
#include "registry/server.hpp"
#include "registry/store.hpp"
#include "util/result.hpp"

namespace grafos::registry {

/// What an endpoint demands of its caller.
enum class Access {
  admin_write,  ///< fabric-admin; under mtls+token also a FabricAdmin bearer token
  read,         ///< fabric-admin, fabric-observer; tenants see only their own tenant
  admin_read,   ///< fabric-admin, fabric-observer
  lease,        ///< tenant (own tenant only) or fabric-admin
  cell,         ///< cell only
  any,          ///< every authenticated principal (RFC 3161 timestamps)
};

/// Authentication and authorization against one store. Thread-safe.
class Gatekeeper {
 public:
  Gatekeeper(AuthMode mode, Store& store) : mode_(mode), store_(store) {}

  /// The caller of a request on `ssl` with this Authorization header. Errors: unauthorized (no or
  /// unverified certificate, bad or disabled token, disabled or deleted tenant), forbidden (a
  /// verified certificate without a valid fabric identity), storage.
  Result<Principal> authenticate(SSL* ssl, std::string_view authorization);

  /// Whether `p` may call an endpoint of class `a`.
  Result<void> authorize(const Principal& p, Access a) const;

 private:
  Result<Principal> bearer_principal(std::string_view header, bool required);
  Result<std::optional<TokenOwner>> find_token_cached(const std::string& digest,
                                                      std::int64_t version);
  Result<void> check_tenant_active(Principal& p);

  AuthMode mode_;
  Store& store_;

  // Bearer-token owners as of one state version (admin tokens, tenants and their status all bump
  // it), so a disable or a new token, by whichever process, is seen by the next request. Misses
  // are kept too (a caller retrying a bad token costs no query) up to a bound.
  static constexpr std::size_t kMaxCached = 4096;
  std::mutex tokens_mu_;
  std::int64_t tokens_version_ = -1;
  std::unordered_map<std::string, std::optional<TokenOwner>> tokens_;

  // Tenant status ("active", "disabled", or empty for no such tenant) by name, as of one state
  // version: a tenant certificate is refused at once when its tenant is disabled or deleted.
  std::mutex tenants_mu_;
  std::int64_t tenants_version_ = -1;
  std::unordered_map<std::string, std::string> tenant_status_;
};

}  // namespace grafos::registry
