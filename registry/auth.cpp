#include "registry/auth.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::registry {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::tenant:
      return "tenant";
    case Role::fabric_observer:
      return "fabric-observer";
    case Role::fabric_admin:
      return "fabric-admin";
    case Role::cell:
      return "cell";
  }
  return "?";
}

bool valid_tenant_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  for (char c : s)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool valid_provider(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool valid_cell_id(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  if (s.size() > 1 && s[0] == '0') return false;
  if (s.size() == 20 && s > "18446744073709551615") return false;
  return true;
}

Result<Principal> principal_from_urn(std::string_view urn) {
  constexpr std::string_view kTenant = "urn:fabricbios:tenant:";
  constexpr std::string_view kCell = "urn:fabricbios:cell:";
  Principal p;
  p.name = std::string(urn);
  if (urn == "urn:fabricbios:fabric-admin") {
    p.role = Role::fabric_admin;
    return p;
  }
  if (urn == "urn:fabricbios:fabric-observer") {
    p.role = Role::fabric_observer;
    return p;
  }
  if (urn.starts_with(kTenant)) {
    auto name = urn.substr(kTenant.size());
    if (!valid_tenant_name(name))
      return make_error(Errc::forbidden, "tenant name in URN SAN '" + std::string(urn) +
                                             "' does not follow the tenant grammar");
    p.role = Role::tenant;
    p.tenant = std::string(name);
    return p;
  }
  if (urn.starts_with(kCell)) {
    auto rest = urn.substr(kCell.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos || !valid_provider(rest.substr(0, colon)) ||
        !valid_cell_id(rest.substr(colon + 1)))
      return make_error(Errc::forbidden, "cell URN SAN '" + std::string(urn) +
                                             "' is not urn:fabricbios:cell:<provider>:<cell_id>");
    p.role = Role::cell;
    p.provider = std::string(rest.substr(0, colon));
    p.cell_id = std::string(rest.substr(colon + 1));
    return p;
  }
  return make_error(Errc::forbidden, "URN SAN '" + std::string(urn) +
                                         "' is not a fabric identity (tenant, fabric-observer, "
                                         "fabric-admin or cell; matched exactly)");
}

Result<Principal> principal_from_cert(X509* cert) {
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> urns;
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type != GEN_URI) continue;
      const ASN1_STRING* s = gn->d.uniformResourceIdentifier;
      std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                    static_cast<size_t>(ASN1_STRING_length(s)));
      if (v.size() >= 4 && strncasecmp(v.c_str(), "urn:", 4) == 0) urns.push_back(std::move(v));
    }
  }
  if (urns.size() != 1)
    return make_error(Errc::forbidden, "client certificate must carry exactly one URN SAN (found " +
                                           std::to_string(urns.size()) + ")");
  if (urns[0].find('\0') != std::string::npos)
    return make_error(Errc::forbidden, "client certificate URN SAN contains a NUL byte");
  return principal_from_urn(urns[0]);
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
