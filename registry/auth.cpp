#include "registry/auth.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::registry {

bool valid_tenant_name(std::string_view s) { return pki::check_tenant_name(s).has_value(); }

bool valid_provider(std::string_view s) { return pki::check_provider_name(s).has_value(); }

bool valid_cell_id(std::string_view s) { return pki::parse_cell_id(s).has_value(); }

Result<Principal> principal_from_identity(const pki::Identity& id) {
  Principal p;
  p.name = pki::identity_urn(id);
  p.role = id.role;
  switch (id.role) {
    case Role::tenant:
      p.tenant = id.name;
      return p;
    case Role::cell:
      p.provider = id.provider;
      p.cell_id = std::to_string(id.cell_id);
      return p;
    case Role::fabric_observer:
    case Role::fabric_admin:
      return p;
    case Role::provenance_signer:
    case Role::timestamp_authority:
    case Role::server:
    case Role::ca:
    case Role::peer:  // federation peers are authorised by the federation handlers
    case Role::intermediate:
      break;
  }
  return make_error(Errc::forbidden, "a " + std::string(role_name(id.role)) +
                                         " identity is not a registry principal (tenant, "
                                         "fabric-observer, fabric-admin or cell)");
}

Result<Principal> principal_from_urn(std::string_view urn) {
  auto id = pki::identity_from_urn(urn);
  if (!id) return make_error(Errc::forbidden, std::move(id).error().message);
  return principal_from_identity(*id);
}

Result<Principal> principal_from_cert(X509* cert) {
  auto id = pki::identity_from_cert(cert);
  if (!id) return make_error(Errc::forbidden, "client certificate: " + id.error().message);
  return principal_from_identity(*id);
}

Result<void> check_client_cert_profile(X509* cert) {
  if (X509_check_ca(cert) != 0)
    return make_error(Errc::forbidden, "a CA certificate cannot be used as a client certificate");
  uint32_t flags = X509_get_extension_flags(cert);
  if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT))
    return make_error(Errc::forbidden,
                      "client certificate lacks the clientAuth extended key usage");
  return ok();
}

Result<SecretString> generate_token(std::string_view prefix) {
  unsigned char rnd[32];
  if (RAND_priv_bytes(rnd, sizeof rnd) != 1)
    return ossl_error(Errc::crypto, "RAND_priv_bytes for a bearer token");
  std::string t(prefix);
  t += to_hex(std::span<const unsigned char>(rnd, sizeof rnd));
  OPENSSL_cleanse(rnd, sizeof rnd);
  return SecretString(std::move(t));
}

std::string token_digest(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  return to_hex(std::span<const unsigned char>(md, len));
}

}  // namespace grafos::registry
