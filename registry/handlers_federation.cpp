// Federation endpoints (seed 001). Admin (fabric-admin only, reads too; under mtls+token also
// the FabricAdmin bearer): grants, enrollment tokens, and the enrolling side's peer records. Public
// (no client certificate): the fabric CA to pin, enrollment with a token, the intermediate's CRL.
// Peer (a certificate the intermediate issued, its grant active): scoped reads.
#include <openssl/pem.h>

#include "admin/federation.hpp"
#include "hsm/load_key.hpp"
#include "pki/federation.hpp"
#include "registry/federation.hpp"
#include "registry/router.hpp"
#include "registry/tls.hpp"
#include "util/ossl.hpp"
#include "util/seal.hpp"

namespace grafos::registry {
namespace {

Reply audited(Reply r) {
  r.audited = true;
  return r;
}

// Who calls an endpoint that needs no client certificate: named by the certificate when one was
// verified, else "anonymous".
Principal anonymous(SSL* ssl) {
  Principal p;
  p.role = Role::peer;
  p.name = "anonymous";
  if (X509* c = ssl ? SSL_get0_peer_certificate(ssl) : nullptr)
    p.name = SSL_get_verify_result(ssl) == X509_V_OK ? cert_label(c) : unverified_label(c);
  return p;
}

Result<std::vector<X509Ptr>> read_pem_certs(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr)
    out.emplace_back(x);
  drain_ossl_errors();
  return out;
}

// A peer's private key: opened in its token (the signer keeps the session), or unsealed.
struct PeerKeyHandle {
  std::unique_ptr<hsm::Signer> signer;
  EvpPkeyPtr key;
  EVP_PKEY* get() const { return key.get(); }
};

Result<PeerKeyHandle> open_peer_key(Federation& fed, const FedPeer& p) {
  if (!p.key_ref.empty()) {
    auto k = hsm::load_key({.ref = p.key_ref,
                            .certificate = nullptr,
                            .certificate_name = {},
                            .interaction = fed.config().interaction,
                            .certificate_path = {}});
    if (!k) return std::move(k).error().context("the token key of peer " + p.peer_id);
    return PeerKeyHandle{std::move(k->signer), std::move(k->private_key)};
  }
  auto secret = fed.seal_secret();
  if (!secret) return secret.error();
  auto pem = seal::open_sealed(*secret, p.peer_id, p.sealed_key);
  if (!pem) {
    if (pem.error().code == Errc::seal_open_failed)
      return make_error(Errc::conflict, "the sealed key of peer " + p.peer_id +
                                            " does not open with this registry's seal secret (" +
                                            pem.error().message + ")");
    return std::move(pem).error().context("opening the sealed key of peer " + p.peer_id);
  }
  BioPtr bio(BIO_new_mem_buf(pem->view().data(), static_cast<int>(pem->view().size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return ossl_error(Errc::crypto, "reading the key of peer " + p.peer_id);
  return PeerKeyHandle{nullptr, std::move(key)};
}

}  // namespace

void add_federation_routes(Router& router, Services& s) {
  Store& store = s.store;
  Federation& fed = *s.federation;
  const ServerConfig& cfg = s.cfg;

  // ---- grants and tokens (the granting fabric) ----
  router.add({"POST", "/admin/federation/grants", "admin", Access::admin_write,
              [&store](const Request& req, const Principal& p) {
                auto body = parse_body(req, {"user_id", "peer_id", "scope", "expires_in"});
                if (!body) return from_error(body.error());
                FedGrantRequest g;
                auto user = get_str(*body, "user_id", true);
                if (!user) return from_error(user.error());
                auto peer = get_str(*body, "peer_id", true);
                if (!peer) return from_error(peer.error());
                auto it = body->find("scope");
                if (it == body->end())
                  return from_error(make_error(Errc::bad_request, "missing field 'scope'"));
                auto scope = parse_scope(*it);
                if (!scope) return from_error(scope.error());
                auto exp = get_u64(*body, "expires_in", false, kDefaultGrantSeconds);
                if (!exp) return from_error(exp.error());
                g.user_id = *user;
                g.peer_id = *peer;
                g.scope = std::move(*scope);
                g.expires_in = static_cast<std::int64_t>(*exp);
                std::int64_t now = now_s();
                auto r = store.fed_create_grant(g, now, audit_for("admin", p, req));
                return audited(r ? ok_reply(201, r->to_json(now)) : from_error(r.error()));
              }});
  router.add({"GET", "/admin/federation/grants", "admin", Access::admin_write,
              [&store](const Request& req, const Principal&) {
                std::string status = req.param("status");
                if (!status.empty() && status != "pending" && status != "active" &&
                    status != "revoked" && status != "expired")
                  return from_error(make_error(
                      Errc::bad_request, "status must be pending, active, revoked or expired"));
                std::int64_t now = now_s();
                auto gs = store.fed_list_grants(req.param("peer"), status, now);
                if (!gs) return from_error(gs.error());
                json arr = json::array();
                for (const auto& g : *gs) arr.push_back(g.to_json(now));
                return ok_reply(200, json{{"grants", std::move(arr)}});
              }});
  router.add({"GET", "/admin/federation/grants/*", "admin", Access::admin_write,
              [&store](const Request& req, const Principal&) {
                auto g = store.fed_get_grant(req.matches[0]);
                return g ? ok_reply(200, g->to_json(now_s())) : from_error(g.error());
              }});
  router.add(
      {"PATCH", "/admin/federation/grants/*/revoke", "admin", Access::admin_write,
       [&store](const Request& req, const Principal& p) {
         auto body = parse_body(req, {"reason"});
         if (!body) return from_error(body.error());
         auto reason = get_str(*body, "reason", false);
         if (!reason) return from_error(reason.error());
         if (reason->size() > 500)
           return from_error(make_error(Errc::bad_request, "reason is longer than 500 bytes"));
         std::int64_t now = now_s();
         auto g = store.fed_revoke_grant(req.matches[0], *reason, now, audit_for("admin", p, req));
         return audited(g ? ok_reply(200, g->to_json(now)) : from_error(g.error()));
       }});
  router.add(
      {"POST", "/admin/federation/grants/*/tokens", "admin", Access::admin_write,
       [&store, &fed, &cfg](const Request& req, const Principal& p) {
         auto body = parse_body(req, {"ttl"});
         if (!body) return from_error(body.error());
         auto ttl = get_u64(*body, "ttl", false, kDefaultTokenTtl);
         if (!ttl) return from_error(ttl.error());
         if (*ttl < 1 || *ttl > static_cast<std::uint64_t>(kMaxTokenTtl))
           return from_error(
               make_error(Errc::bad_request, "token ttl must be 1 to 900 seconds (got " +
                                                 std::to_string(*ttl) +
                                                 "): enrollment tokens never live "
                                                 "longer than 15 minutes"));
         if (fed.fabric_ca_fingerprint().empty() || !fed.issuing())
           return from_error(make_error(Errc::conflict,
                                        "this registry cannot enroll peers: it has no enrollment "
                                        "intermediate or no fabric CA"));
         auto token = generate_token("gfe_");
         if (!token) return from_error(token.error());
         std::int64_t now = now_s();
         std::int64_t expires = now + static_cast<std::int64_t>(*ttl);
         auto g = store.fed_create_token(req.matches[0], token_digest(token->view()), expires, now,
                                         audit_for("admin", p, req));
         if (!g) return audited(from_error(g.error()));
         return audited(
             ok_reply(201, json{{"grant_id", g->id},
                                {"token", std::string(token->view())},
                                {"expires_at", expires},
                                {"ttl", *ttl},
                                {"ca_sha256", fed.fabric_ca_fingerprint()},
                                {"enrollment_url", enrollment_url(cfg.self_url, token->view(), *g,
                                                                  fed.fabric_ca_fingerprint())}}));
       }});

  // ---- public: the CA to pin, enrollment, the CRL ----
  auto anon = [](SSL* ssl) -> Result<Principal> { return anonymous(ssl); };
  router.add({"GET", "/federation/ca", "token", Access::read,
              [&fed](const Request&, const Principal&) {
                if (!fed.fabric_ca())
                  return from_error(make_error(Errc::remote_not_found, "no fabric CA configured"));
                return ok_reply(200, json{{"ca_pem", fed.fabric_ca_pem()},
                                          {"ca_sha256", fed.fabric_ca_fingerprint()}});
              },
              anon});
  router.add({"POST", "/federation/enroll", "token", Access::read,
              [&store, &fed](const Request& req, const Principal& p) {
                auto body = parse_body(req, {"token", "csr"});
                if (!body) return from_error(body.error());
                auto token = get_str(*body, "token", true);
                if (!token) return from_error(token.error());
                auto csr_text = get_str(*body, "csr", true);
                if (!csr_text) return from_error(csr_text.error());
                if (!fed.issuing())
                  return from_error(make_error(Errc::remote_not_found,
                                               "this registry has no enrollment intermediate"));
                auto csr = pki::federation::read_csr(*csr_text);
                if (!csr) return from_error(make_error(Errc::bad_request, csr.error().message));
                std::string digest = token_digest(*token);
                cleanse_string(*token);
                std::int64_t now = now_s();
                auto e = store.fed_redeem(
                    digest, now,
                    [&](const FedGrant& g) -> Result<X509Ptr> {
                      auto c = fed.issue(csr->get(), g);
                      if (!c) return make_error(Errc::bad_request, c.error().message);
                      return c;
                    },
                    audit_for("token", p, req));
                if (!e) return audited(from_error(e.error()));
                return audited(ok_reply(201, json{{"certificate", e->cert_pem},
                                                  {"chain", json::array({fed.intermediate_pem()})},
                                                  {"grant_id", e->grant.id},
                                                  {"peer_id", e->grant.peer_id},
                                                  {"user_id", e->grant.user_id},
                                                  {"expires_at", e->grant.expires_at}}));
              },
              anon});
  router.add({"GET", "/federation/crl", "token", Access::read,
              [&store, &fed](const Request&, const Principal&) {
                auto der = fed.crl_der(store);
                if (!der) return from_error(der.error());
                Reply r;
                r.status = 200;
                r.raw = std::move(*der);
                r.content_type = "application/pkix-crl";  // DER (RFC 2585 section 4.2)
                return r;
              },
              anon});

  // ---- peer reads (a certificate the intermediate issued, grant active, resource in scope) ----
  router.add(
      {"GET", "/federation/*", "admin", Access::read,
       [&store](const Request& req, const Principal& p) {
         const std::string& resource = req.matches[0];
         auto g = store.fed_get_grant(p.grant_id);
         if (!g) return from_error(g.error());
         bool known = false;
         for (const auto& r : federation_resources()) known = known || r == resource;
         if (!known)
           return from_error(make_error(Errc::endpoint_not_found,
                                        "no federation resource '" + resource.substr(0, 64) + "'"));
         if (!g->scope.allows(resource))
           return from_error(
               make_error(Errc::forbidden,
                          "resource '" + resource + "' is not in the scope of grant " + g->id));
         auto rows = store.fed_read(resource, g->scope.max_rows_per_query, now_s());
         if (!rows) return from_error(rows.error());
         return ok_reply(200, json{{"resource", resource},
                                   {"max_rows_per_query", g->scope.max_rows_per_query},
                                   {"rows", std::move(*rows)}});
       },
       [&store, &fed](SSL* ssl) -> Result<Principal> {
         auto a = fed.peer_of(ssl, store);
         if (!a) return a.error();
         Principal p;
         p.role = Role::peer;
         p.name = pki::federation::peer_urn(a->grant.peer_id);
         p.grant_id = a->grant.id;
         return p;
       }});

  // ---- the enrolling side: peer records ----
  router.add({"GET", "/admin/federation/peers", "admin", Access::admin_write,
              [&store](const Request&, const Principal&) {
                auto ps = store.fed_list_peers();
                if (!ps) return from_error(ps.error());
                std::int64_t now = now_s();
                json arr = json::array();
                for (const auto& p : *ps) arr.push_back(p.to_json(now));
                return ok_reply(200, json{{"peers", std::move(arr)}});
              }});
  router.add(
      {"POST", "/admin/federation/peers/keypair", "admin", Access::admin_write,
       [&store, &fed](const Request& req, const Principal& p) {
         auto body = parse_body(
             req, {"peer_id", "grant_id", "user_id", "remote_url", "ca_sha256", "ca_pem"});
         if (!body) return from_error(body.error());
         FedPeer peer;
         for (auto [k, dst] :
              {std::pair{"peer_id", &peer.peer_id}, std::pair{"grant_id", &peer.grant_id},
               std::pair{"user_id", &peer.user_id}, std::pair{"remote_url", &peer.remote_url},
               std::pair{"ca_sha256", &peer.ca_fingerprint}, std::pair{"ca_pem", &peer.ca_pem}}) {
           auto v = get_str(*body, k, true);
           if (!v) return from_error(v.error());
           *dst = std::move(*v);
         }
         if (auto c = pki::federation::check_peer_id(peer.peer_id); !c)
           return from_error(make_error(Errc::bad_request, c.error().message));
         for (auto [what, v] :
              {std::pair{"grant id", &peer.grant_id}, std::pair{"user id", &peer.user_id}})
           if (auto c = pki::federation::check_grant_field(*v, what); !c)
             return from_error(make_error(Errc::bad_request, c.error().message));
         if (!peer.remote_url.starts_with("https://") || peer.remote_url.size() > 512)
           return from_error(make_error(Errc::bad_request, "remote_url must be https://HOST:PORT"));
         auto ca = x509_from_pem(peer.ca_pem);
         if (!ca) return from_error(make_error(Errc::bad_request, "ca_pem holds no certificate"));
         if (pki::federation::ca_fingerprint_sha256(ca->get()) != peer.ca_fingerprint)
           return from_error(make_error(Errc::bad_request,
                                        "ca_pem does not have the SHA-256 fingerprint ca_sha256"));
         const std::string& token = fed.config().peer_key_token;
         if (!token.empty()) {
           // The key is generated inside the token; only its reference is stored.
           std::string ref = peer_key_ref(token, peer.peer_id);
           auto key =
               pki::federation::make_peer_key_and_csr(peer.peer_id, ref, fed.config().interaction);
           if (!key) {
             Error e = std::move(key).error().context("making the key of peer " + peer.peer_id +
                                                      " in the token");
             if (e.code == Errc::exists) e.code = Errc::conflict;
             return from_error(e);
           }
           peer.key_ref = key->key_ref;
           peer.csr_pem = key->csr_pem;
         } else {
           auto secret = fed.seal_secret();
           if (!secret) return from_error(make_error(Errc::conflict, secret.error().message));
           auto key = pki::federation::make_peer_key_and_csr(peer.peer_id);
           if (!key) return from_error(key.error());
           auto sealed = seal::seal(*secret, peer.peer_id, key->private_key_pem.view());
           if (!sealed) return from_error(sealed.error());
           peer.sealed_key = std::move(*sealed);
           peer.csr_pem = key->csr_pem;
         }
         peer.created_at = now_s();
         auto r = store.fed_put_peer(peer, audit_for("admin", p, req));
         if (!r) return audited(from_error(r.error()));
         return audited(ok_reply(201, json{{"peer_id", r->peer_id}, {"csr_pem", r->csr_pem}}));
       }});
  router.add(
      {"PATCH", "/admin/federation/peers/*/cert", "admin", Access::admin_write,
       [&store, &fed](const Request& req, const Principal& p) {
         const std::string& id = req.matches[0];
         auto body = parse_body(req, {"cert_pem", "chain_pem"});
         if (!body) return from_error(body.error());
         auto cert_pem = get_str(*body, "cert_pem", true);
         if (!cert_pem) return from_error(cert_pem.error());
         auto chain_pem = get_str(*body, "chain_pem", false);
         if (!chain_pem) return from_error(chain_pem.error());
         auto peer = store.fed_get_peer(id);
         if (!peer) return from_error(peer.error());
         auto cert = x509_from_pem(*cert_pem);
         if (!cert)
           return from_error(make_error(Errc::bad_request, "cert_pem holds no certificate"));
         auto chain = read_pem_certs(*chain_pem);
         if (!chain) return from_error(chain.error());
         auto root = x509_from_pem(peer->ca_pem);
         if (!root)
           return from_error(make_error(Errc::storage, "the pinned CA of the peer record"));
         std::vector<X509*> chain_raw;
         for (auto& c : *chain) chain_raw.push_back(c.get());
         // Checked again here, and it must certify the key this registry made for the peer.
         auto key = open_peer_key(fed, *peer);
         if (!key) return from_error(key.error());
         pki::federation::ExpectedPeer expected{peer->peer_id, peer->grant_id, peer->user_id};
         expected.public_key = key->get();
         auto info =
             pki::federation::check_peer_certificate(cert->get(), chain_raw, root->get(), expected);
         if (!info)
           return from_error(make_error(Errc::bad_request,
                                        "the certificate is refused: " + info.error().message));
         FedPeer upd = *peer;
         upd.cert_pem = *cert_pem;
         upd.chain_pem = *chain_pem;
         upd.cert_sha256 = info->fingerprint_sha256;
         upd.not_after = static_cast<std::int64_t>(info->not_after);
         auto r = store.fed_set_peer_cert(upd, audit_for("admin", p, req));
         return audited(r ? ok_reply(200, r->to_json(now_s())) : from_error(r.error()));
       }});
  router.add({"GET", "/admin/federation/peers/*/remote/*", "admin", Access::admin_write,
              [&store, &fed](const Request& req, const Principal&) {
                auto peer = store.fed_get_peer(req.matches[0]);
                if (!peer) return from_error(peer.error());
                if (peer->status != "active")
                  return from_error(make_error(Errc::conflict,
                                               "peer " + peer->peer_id + " has not enrolled yet"));
                auto key = open_peer_key(fed, *peer);
                if (!key) return from_error(key.error());
                admin::PinnedRequest pr;
                pr.url = peer->remote_url + "/api/v1/federation/" +
                         admin::encode_path_segment(req.matches[1]);
                pr.ca_pem = peer->ca_pem;
                pr.cert_pem = peer->cert_pem + peer->chain_pem;
                pr.key = key->get();
                pr.timeout_ms = 10'000;
                auto r = admin::pinned_request(pr);
                if (!r) return from_error(make_error(Errc::conflict, r.error().message));
                Reply out;
                out.status = r->status >= 200 && r->status < 300 ? 200 : r->status;
                out.body = json{
                    {"peer_id", peer->peer_id}, {"remote_status", r->status}, {"remote", r->json}};
                if (out.status >= 400) {
                  auto e = admin::error_from_response(r->status, r->body, "remote read");
                  Reply err = from_error(make_error(r->status == 401   ? Errc::unauthorized
                                                    : r->status == 403 ? Errc::forbidden
                                                    : r->status == 404 ? Errc::endpoint_not_found
                                                                       : Errc::conflict,
                                                    e.message));
                  return err;
                }
                return out;
              }});
}

}  // namespace grafos::registry
