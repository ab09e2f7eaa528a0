// Who is calling: roles read from a client certificate's URN SAN or from a bearer token, the
// tenant-name grammar, and bearer-token generation and digests. Roles, grammars and the URN forms
// are pki's (pki/identity.hpp); the functions here are the registry's view of them.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pki/identity.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::registry {

/// The roles of DESIGN.md section 6 are pki's: a registry principal is a tenant, fabric-observer,
/// fabric-admin or cell (a provenance-signer, server or CA certificate is none).
using Role = pki::Role;

/// "tenant", "fabric-observer", "fabric-admin", "cell".
using pki::role_name;

/// An authenticated caller.
struct Principal {
  Role role = Role::tenant;
  std::string name;    ///< the URN ("urn:fabricbios:...") or "token:<name>" / "admin-token:<name>"
  std::string tenant;  ///< Role::tenant: the tenant it is scoped to
  /// Role::tenant from a bearer token: the tenant's id (a certificate carries only the name).
  std::optional<std::int64_t> tenant_id;
  std::string provider;  ///< Role::cell
  std::string cell_id;   ///< Role::cell
  std::string grant_id;  ///< Role::peer: the federation grant its certificate was issued under
  bool via_token = false;
  bool admin_token = false;  ///< a valid FabricAdmin bearer token was presented
  /// Store::state_version() read while authenticating this request (bearer tokens), so the
  /// handler's cache checks need not read it again.
  std::optional<std::int64_t> state_version;
};

/// DESIGN.md section 4 tenant grammar: 1-63 of [A-Za-z0-9._-], first a letter or digit.
bool valid_tenant_name(std::string_view s);
/// Provider grammar: 1-63 of [a-z0-9-], not starting or ending with '-'.
bool valid_provider(std::string_view s);
/// Canonical unsigned 64-bit decimal.
bool valid_cell_id(std::string_view s);

/// Parses a fabric identity URN exactly (case-sensitive, no percent-decoding); Errc::forbidden
/// for anything that is not a registry principal.
Result<Principal> principal_from_urn(std::string_view urn);

/// The principal of an identity pki read (Errc::forbidden for a role that is no principal).
Result<Principal> principal_from_identity(const pki::Identity& id);

/// Reads the role from a verified client certificate: exactly one URN SAN, matched exactly.
Result<Principal> principal_from_cert(X509* cert);

/// Checks a client certificate beyond chain verification: not a CA, EKU present with clientAuth.
/// Returns the reason on refusal.
Result<void> check_client_cert_profile(X509* cert);

/// A fresh bearer token: `prefix` + 64 lowercase hex digits from the CSPRNG.
Result<SecretString> generate_token(std::string_view prefix = "gfr_");

/// Lowercase hex SHA-256 of a token (what the database stores).
std::string token_digest(std::string_view token);

}  // namespace grafos::registry
