#include "registry/federation.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>

#include "admin/client.hpp"
#include "hsm/load_key.hpp"
#include "pki/crl.hpp"
#include "pki/federation.hpp"
#include "registry/store.hpp"
#include "util/file_io.hpp"

namespace grafos::registry {

using nlohmann::json;

namespace {

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool known_resource(const std::string& r) {
  const auto& all = federation_resources();
  return std::find(all.begin(), all.end(), r) != all.end();
}

std::string names_list() {
  std::string out;
  for (const auto& r : federation_resources()) out += (out.empty() ? "" : ", ") + r;
  return out;
}

Result<std::vector<std::string>> resource_list(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required)
      return make_error(Errc::invalid_input, std::string("scope: '") + key + "' is required");
    return std::vector<std::string>();
  }
  if (!it->is_array())
    return make_error(Errc::invalid_input,
                      std::string("scope: '") + key + "' must be an array of resource names");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string())
      return make_error(Errc::invalid_input, std::string("scope: '") + key + "' must hold strings");
    std::string name = v.get<std::string>();
    if (!known_resource(name))
      return make_error(Errc::invalid_input, std::string("scope: unknown resource '") +
                                                 name.substr(0, 64) + "' in '" + key +
                                                 "' (known: " + names_list() + ")");
    if (std::find(out.begin(), out.end(), name) != out.end())
      return make_error(Errc::invalid_input, std::string("scope: resource '") + name +
                                                 "' is listed twice in '" + key + "'");
    out.push_back(std::move(name));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& federation_resources() {
  static const std::vector<std::string> kResources = {"tenants", "leases", "fenced-leases", "audit",
                                                      "cells"};
  return kResources;
}

bool FedScope::allows(const std::string& resource) const {
  return std::find(resources.begin(), resources.end(), resource) != resources.end() &&
         std::find(excluded_resources.begin(), excluded_resources.end(), resource) ==
             excluded_resources.end();
}

json FedScope::to_json() const {
  return json{{"resources", resources},
              {"excluded_resources", excluded_resources},
              {"max_rows_per_query", max_rows_per_query}};
}

Result<FedScope> parse_scope(const json& j) {
  if (!j.is_object()) return make_error(Errc::invalid_input, "scope must be a JSON object");
  for (auto& [k, v] : j.items())
    if (k != "resources" && k != "excluded_resources" && k != "max_rows_per_query")
      return make_error(Errc::invalid_input,
                        "scope: unknown key '" + k.substr(0, 64) +
                            "' (allowed: resources, excluded_resources, max_rows_per_query)");
  FedScope s;
  auto inc = resource_list(j, "resources", true);
  if (!inc) return inc.error();
  if (inc->empty())
    return make_error(Errc::invalid_input, "scope: 'resources' must name at least one resource");
  auto exc = resource_list(j, "excluded_resources", false);
  if (!exc) return exc.error();
  for (const auto& r : *exc)
    if (std::find(inc->begin(), inc->end(), r) != inc->end())
      return make_error(Errc::invalid_input,
                        "scope: resource '" + r +
                            "' is both in 'resources' and 'excluded_resources' (a resource is "
                            "either granted or excluded)");
  s.resources = std::move(*inc);
  s.excluded_resources = std::move(*exc);
  if (auto it = j.find("max_rows_per_query"); it != j.end()) {
    if (!it->is_number_integer())
      return make_error(Errc::invalid_input,
                        "scope: 'max_rows_per_query' must be an integer from 1 to 10000");
    std::int64_t n = it->is_number_unsigned() && it->get<std::uint64_t>() > 1'000'000'000ULL
                         ? kMaxRowsPerQuery + 1
                         : it->get<std::int64_t>();
    if (n < 1 || n > kMaxRowsPerQuery)
      return make_error(
          Errc::invalid_input,
          "scope: 'max_rows_per_query' must be from 1 to 10000 (got " + it->dump() + ")");
    s.max_rows_per_query = n;
  }
  return s;
}

std::string FedGrant::status_at(std::int64_t now) const {
  if (status != "revoked" && now >= expires_at) return "expired";
  return status;
}

json FedGrant::to_json(std::int64_t now) const {
  json j{{"id", id},
         {"user_id", user_id},
         {"peer_id", peer_id},
         {"scope", scope.to_json()},
         {"status", status_at(now)},
         {"created_at", created_at},
         {"expires_at", expires_at},
         {"activated_at", activated_at ? json(*activated_at) : json(nullptr)},
         {"revoked_at", revoked_at ? json(*revoked_at) : json(nullptr)},
         {"revoke_reason", revoke_reason}};
  return j;
}

json FedPeer::to_json(std::int64_t now) const {
  std::string s = status;
  if (s == "active" && not_after && now >= *not_after) s = "expired";
  return json{{"peer_id", peer_id},
              {"remote_url", remote_url},
              {"grant_id", grant_id},
              {"user_id", user_id},
              {"ca_fingerprint", ca_fingerprint},
              {"cert_sha256", cert_sha256},
              {"not_after", not_after ? json(*not_after) : json(nullptr)},
              {"status", s},
              {"key_storage", key_ref.empty() ? "sealed" : "pkcs11"},
              {"created_at", created_at}};
}

std::string peer_key_ref(const std::string& token_uri, const std::string& peer_id) {
  auto q = token_uri.find('?');
  std::string path = token_uri.substr(0, q);
  std::string query = q == std::string::npos ? std::string() : token_uri.substr(q);
  return path + ";object=peer-" + peer_id + query;
}

std::string enrollment_url(const std::string& base, std::string_view token, const FedGrant& g,
                           const std::string& ca_fingerprint) {
  return base + "/api/v1/federation/enroll?token=" + std::string(token) +
         "&grant=" + admin::percent_encode(g.id) + "&peer=" + admin::percent_encode(g.peer_id) +
         "&user=" + admin::percent_encode(g.user_id) + "&ca_sha256=" + ca_fingerprint;
}

// ---- the registry's federation state ----

Result<std::unique_ptr<Federation>> Federation::open(FederationConfig cfg,
                                                     const std::string& client_ca,
                                                     const hsm::Interaction& interaction) {
  std::unique_ptr<Federation> f(new Federation());
  if (!client_ca.empty()) {
    auto text = read_file(client_ca);
    if (!text) return text.error();
    auto ca = x509_from_pem(*text);
    if (!ca) return std::move(ca).error().context("reading the fabric CA " + client_ca);
    auto pem = x509_to_pem(ca->get());
    if (!pem) return pem.error();
    f->fabric_ca_pem_ = std::move(*pem);
    f->fabric_ca_fp_ = pki::federation::ca_fingerprint_sha256(ca->get());
    f->fabric_ca_ = std::move(*ca);
  }
  if (cfg.enroll_ca_cert.empty() != cfg.enroll_ca_key.empty())
    return make_error(Errc::usage,
                      "the enrollment intermediate needs both its certificate and its key");
  if (!cfg.enroll_ca_cert.empty()) {
    if (!f->fabric_ca_)
      return make_error(Errc::usage,
                        "an enrollment intermediate needs the fabric CA it chains to (client CA)");
    auto text = read_file(cfg.enroll_ca_cert);
    if (!text) return text.error();
    auto cert = x509_from_pem(*text);
    if (!cert) return std::move(cert).error().context("reading " + cfg.enroll_ca_cert);
    // The intermediate must chain to the fabric CA: peers pin that CA and verify through it.
    EVP_PKEY* root_key = X509_get0_pubkey(f->fabric_ca_.get());
    if (!root_key || X509_verify(cert->get(), root_key) != 1) {
      drain_ossl_errors();
      return make_error(Errc::invalid_input, "the enrollment intermediate " + cfg.enroll_ca_cert +
                                                 " is not signed by the fabric CA " + client_ca);
    }
    auto pem = x509_to_pem(cert->get());
    if (!pem) return pem.error();
    f->intermediate_pem_ = std::move(*pem);
    auto key = hsm::load_key(
        {.ref = cfg.enroll_ca_key,
         .certificate = cert->get(),
         .certificate_name = "the enrollment intermediate '" + cfg.enroll_ca_cert + "'",
         .interaction = interaction,
         .certificate_path = {}});
    if (!key) return std::move(key).error();
    X509Ptr issuer_cert(X509_dup(cert->get()));
    auto issuer = pki::Issuer::create(std::move(issuer_cert), std::move(key->signer));
    if (!issuer) return std::move(issuer).error().context("enrollment intermediate");
    f->issuer_.emplace(std::move(*issuer));
    f->intermediate_ = std::move(*cert);
  }
  f->cfg_ = std::move(cfg);
  return f;
}

Result<std::string_view> Federation::seal_secret() const {
  if (cfg_.seal_secret.empty())
    return make_error(Errc::secret_missing,
                      "no seal secret configured: peer keys cannot be sealed or opened");
  return cfg_.seal_secret.view();
}

Result<X509Ptr> Federation::issue(X509_REQ* csr, const FedGrant& grant) {
  if (!issuer_)
    return make_error(Errc::remote_not_found, "this registry has no enrollment intermediate");
  pki::federation::PeerGrant pg{grant.peer_id, grant.id, grant.user_id,
                                static_cast<std::time_t>(grant.expires_at)};
  std::lock_guard lk(mu_);
  if (cfg_.test_wrong_oids) {
    pki::federation::PeerGrant wrong = pg;
    wrong.grant_id = "grant-not-" + grant.id.substr(0, 64);
    return pki::federation::issue_peer_certificate_with_extensions_for_test(*issuer_, csr, pg,
                                                                            wrong);
  }
  return pki::federation::issue_peer_certificate(*issuer_, csr, pg);
}

Result<std::string> Federation::crl_der(Store& store) {
  if (!issuer_)
    return make_error(Errc::remote_not_found, "this registry has no enrollment intermediate");
  auto revoked = store.fed_revoked_certs();
  if (!revoked) return revoked.error();
  std::vector<std::string> serials;
  for (const auto& c : *revoked) serials.push_back(c.serial);
  std::sort(serials.begin(), serials.end());
  std::int64_t now = now_s();
  constexpr std::int64_t kResignAfter = 3600;
  std::lock_guard lk(mu_);
  if (!crl_der_.empty() && serials == crl_serials_ && now >= crl_signed_at_ &&
      now - crl_signed_at_ < kResignAfter)
    return crl_der_;
  auto number = store.fed_next_crl_number();
  if (!number) return number.error();
  pki::CrlRequest req;
  req.ca = intermediate_.get();
  for (const auto& c : *revoked) {
    pki::LedgerEntry e;
    e.serial = c.serial;
    e.role = "peer";
    e.state = pki::CertState::revoked;
    e.reserved_at = c.issued_at;
    e.issued_at = c.issued_at;
    e.revoked_at = c.revoked_at;
    e.reason = pki::RevocationReason::privilege_withdrawn;
    e.not_after = c.not_after;
    req.revoked.push_back(std::move(e));
  }
  req.crl_number = *number;
  req.this_update = now;
  std::int64_t ca_end = now + 86400;
  if (const ASN1_TIME* na = X509_get0_notAfter(intermediate_.get())) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(na, &tm) == 1) ca_end = static_cast<std::int64_t>(timegm(&tm));
  }
  req.next_update = std::min(now + 86400, ca_end);
  auto crl = pki::build_crl(req, issuer_->signer());
  if (!crl) return crl.error();
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl->get(), &der);
  if (n <= 0) return ossl_error(Errc::crypto, "encoding the enrollment intermediate's CRL");
  crl_der_.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  crl_serials_ = std::move(serials);
  crl_signed_at_ = now;
  return crl_der_;
}

Result<FedPeerAccess> Federation::peer_of(SSL* ssl, Store& store) {
  X509* cert = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (!cert)
    return make_error(Errc::unauthorized,
                      "a peer certificate issued by this registry's enrollment intermediate is "
                      "required");
  if (SSL_get_verify_result(ssl) != X509_V_OK)
    return make_error(Errc::unauthorized, "client certificate not verified");
  if (!intermediate_)
    return make_error(Errc::unauthorized, "this registry issues no peer certificates");
  // Issued by our intermediate (the chain was verified to the fabric CA in the handshake).
  EVP_PKEY* ik = X509_get0_pubkey(intermediate_.get());
  if (!ik || X509_verify(cert, ik) != 1) {
    drain_ossl_errors();
    return make_error(Errc::unauthorized,
                      "the client certificate was not issued by this registry's enrollment "
                      "intermediate");
  }
  auto info = pki::federation::read_peer_certificate(cert);
  if (!info) return make_error(Errc::unauthorized, info.error().message);
  auto acc = store.fed_peer_access(info->serial);
  if (!acc) return acc.error();
  if (!*acc)
    return make_error(Errc::unauthorized,
                      "peer certificate serial " + info->serial + " is not on record");
  FedPeerAccess a = std::move(**acc);
  std::int64_t now = now_s();
  std::string s = a.grant.status_at(now);
  if (a.cert.state == "revoked" || s == "revoked")
    return make_error(Errc::unauthorized,
                      "grant " + a.grant.id + " of peer " + a.grant.peer_id + " is revoked");
  if (s == "expired") return make_error(Errc::unauthorized, "grant " + a.grant.id + " has expired");
  if (s != "active")
    return make_error(Errc::unauthorized, "grant " + a.grant.id + " is not active");
  if (a.grant.peer_id != info->peer_id || a.grant.id != info->grant_id)
    return make_error(Errc::unauthorized, "peer certificate does not match its grant record");
  return a;
}

}  // namespace grafos::registry
