// Federation rows: grants, enrollment token digests, the peer certificates the intermediate
// issued (and their revocation), the CRL number, the federated read queries, and the enrolling
// side's peer records.
#include <openssl/rand.h>

#include <span>

#include "pki/federation.hpp"
#include "registry/store.hpp"
#include "registry/store_internal.hpp"
#include "util/bytes.hpp"
#include "util/json.hpp"

namespace grafos::registry {

using admin::AuditEntry;

namespace {

constexpr const char* kGrantCols =
    "id, user_id, peer_id, scope, status, created_at, expires_at, activated_at, revoked_at, "
    "revoke_reason";

Result<FedGrant> grant_from_row(sqlite3_stmt* st) {
  FedGrant g;
  g.id = col_text(st, 0);
  g.user_id = col_text(st, 1);
  g.peer_id = col_text(st, 2);
  auto j = parse_json_strict(col_text(st, 3));
  if (!j) return make_error(Errc::storage, "grant " + g.id + " has an unreadable scope");
  auto scope = parse_scope(*j);
  if (!scope) return make_error(Errc::storage, "grant " + g.id + " has an invalid scope");
  g.scope = std::move(*scope);
  g.status = col_text(st, 4);
  g.created_at = sqlite3_column_int64(st, 5);
  g.expires_at = sqlite3_column_int64(st, 6);
  g.activated_at = sqlite_column_opt(st, 7);
  g.revoked_at = sqlite_column_opt(st, 8);
  g.revoke_reason = col_text(st, 9);
  return g;
}

Result<std::optional<FedGrant>> grant_by_id(Db& db, const std::string& id) {
  static const std::string sql =
      std::string("SELECT ") + kGrantCols + " FROM fed_grants WHERE id = ?";
  auto st = db.prepare(sql.c_str());
  if (!st) return st.error();
  bind_text(*st, 1, id);
  std::optional<FedGrant> out;
  if (sqlite3_step(*st) == SQLITE_ROW) {
    auto g = grant_from_row(*st);
    if (!g) {
      sqlite3_reset(*st);
      return g.error();
    }
    out = std::move(*g);
  }
  sqlite3_reset(*st);
  return out;
}

Result<FedGrant> grant_or_404(Db& db, const std::string& id) {
  auto g = grant_by_id(db, id);
  if (!g) return g.error();
  if (!*g) return make_error(Errc::remote_not_found, "no grant '" + id.substr(0, 80) + "'");
  return std::move(**g);
}

Result<std::string> new_grant_id() {
  unsigned char rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1)
    return ossl_error(Errc::crypto, "RAND_bytes for a grant id");
  return "grant-" + to_hex(std::span<const unsigned char>(rnd, sizeof rnd));
}

Result<void> step_done(Db& db, sqlite3_stmt* st, const char* what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return db.error(what);
  return ok();
}

constexpr const char* kPeerCols =
    "peer_id, remote_url, grant_id, user_id, ca_fingerprint, ca_pem, sealed_key, key_ref, "
    "csr_pem, cert_pem, chain_pem, cert_sha256, not_after, status, created_at";

FedPeer peer_from_row(sqlite3_stmt* st) {
  FedPeer p;
  p.peer_id = col_text(st, 0);
  p.remote_url = col_text(st, 1);
  p.grant_id = col_text(st, 2);
  p.user_id = col_text(st, 3);
  p.ca_fingerprint = col_text(st, 4);
  p.ca_pem = col_text(st, 5);
  p.sealed_key = col_text(st, 6);
  p.key_ref = col_text(st, 7);
  p.csr_pem = col_text(st, 8);
  p.cert_pem = col_text(st, 9);
  p.chain_pem = col_text(st, 10);
  p.cert_sha256 = col_text(st, 11);
  p.not_after = sqlite_column_opt(st, 12);
  p.status = col_text(st, 13);
  p.created_at = sqlite3_column_int64(st, 14);
  return p;
}

Result<std::optional<FedPeer>> peer_by_id(Db& db, const std::string& id) {
  static const std::string sql =
      std::string("SELECT ") + kPeerCols + " FROM fed_peers WHERE peer_id = ?";
  auto st = db.prepare(sql.c_str());
  if (!st) return st.error();
  bind_text(*st, 1, id);
  std::optional<FedPeer> out;
  if (sqlite3_step(*st) == SQLITE_ROW) out = peer_from_row(*st);
  sqlite3_reset(*st);
  return out;
}

}  // namespace

Result<FedGrant> Store::fed_create_grant(const FedGrantRequest& req, std::int64_t now,
                                         const AuditEntry& audit) {
  return write_tx<FedGrant>(
      [&](Db& db, AuditEntry& a) -> Result<FedGrant> {
        if (auto c = pki::federation::check_peer_id(req.peer_id); !c)
          return make_error(Errc::invalid_input, c.error().message);
        if (auto c = pki::federation::check_grant_field(req.user_id, "user id"); !c)
          return make_error(Errc::invalid_input, c.error().message);
        if (req.expires_in < 1 || req.expires_in > kMaxGrantSeconds)
          return make_error(Errc::invalid_input,
                            "grant lifetime must be 1 second to 3650 days (got " +
                                std::to_string(req.expires_in) + " seconds)");
        auto id = new_grant_id();
        if (!id) return id.error();
        FedGrant g;
        g.id = *id;
        g.user_id = req.user_id;
        g.peer_id = req.peer_id;
        g.scope = req.scope;
        g.status = "pending";
        g.created_at = now;
        g.expires_at = now + req.expires_in;
        auto st = db.prepare(
            "INSERT INTO fed_grants(id, user_id, peer_id, scope, status, created_at, expires_at) "
            "VALUES(?,?,?,?,?,?,?)");
        if (!st) return st.error();
        bind_text(*st, 1, g.id);
        bind_text(*st, 2, g.user_id);
        bind_text(*st, 3, g.peer_id);
        bind_text(*st, 4, g.scope.to_json().dump());
        bind_text(*st, 5, g.status);
        sqlite3_bind_int64(*st, 6, g.created_at);
        sqlite3_bind_int64(*st, 7, g.expires_at);
        if (auto r = step_done(db, *st, "creating a grant"); !r) return r.error();
        a.detail = "grant " + g.id + " for peer " + g.peer_id + " (user " + g.user_id + ")";
        return g;
      },
      audit);
}

Result<std::vector<FedGrant>> Store::fed_list_grants(const std::string& peer_id,
                                                     const std::string& status, std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  static const std::string sql = std::string("SELECT ") + kGrantCols +
                                 " FROM fed_grants WHERE (?1 = '' OR peer_id = ?1) ORDER BY "
                                 "created_at, id";
  auto st = r.db->prepare(sql.c_str());
  if (!st) return st.error();
  bind_text(*st, 1, peer_id);
  std::vector<FedGrant> out;
  while (sqlite3_step(*st) == SQLITE_ROW) {
    auto g = grant_from_row(*st);
    if (!g) {
      sqlite3_reset(*st);
      return g.error();
    }
    if (status.empty() || g->status_at(now) == status) out.push_back(std::move(*g));
  }
  sqlite3_reset(*st);
  return out;
}

Result<FedGrant> Store::fed_get_grant(const std::string& id) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  return grant_or_404(*r.db, id);
}

Result<FedGrant> Store::fed_revoke_grant(const std::string& id, const std::string& reason,
                                         std::int64_t now, const AuditEntry& audit) {
  return write_tx<FedGrant>(
      [&](Db& db, AuditEntry& a) -> Result<FedGrant> {
        auto g = grant_or_404(db, id);
        if (!g) return g.error();
        if (g->status == "revoked")
          return make_error(Errc::conflict, "grant " + id + " is already revoked");
        auto st = db.prepare(
            "UPDATE fed_grants SET status = 'revoked', revoked_at = ?, revoke_reason = ? WHERE id "
            "= ?");
        if (!st) return st.error();
        sqlite3_bind_int64(*st, 1, now);
        bind_text(*st, 2, reason);
        bind_text(*st, 3, id);
        if (auto r = step_done(db, *st, "revoking a grant"); !r) return r.error();
        auto st2 = db.prepare(
            "UPDATE fed_issued SET state = 'revoked', revoked_at = ? WHERE grant_id = ? AND state "
            "= 'issued'");
        if (!st2) return st2.error();
        sqlite3_bind_int64(*st2, 1, now);
        bind_text(*st2, 2, id);
        if (auto r = step_done(db, *st2, "revoking a grant's certificates"); !r) return r.error();
        int certs = sqlite3_changes(db.handle());
        g->status = "revoked";
        g->revoked_at = now;
        g->revoke_reason = reason;
        a.detail = "grant " + id + " revoked (" + std::to_string(certs) + " certificate(s))" +
                   (reason.empty() ? "" : ": " + reason);
        return std::move(*g);
      },
      audit);
}

Result<FedGrant> Store::fed_create_token(const std::string& grant_id, const std::string& digest,
                                         std::int64_t expires_at, std::int64_t now,
                                         const AuditEntry& audit) {
  return write_tx<FedGrant>(
      [&](Db& db, AuditEntry& a) -> Result<FedGrant> {
        auto g = grant_or_404(db, grant_id);
        if (!g) return g.error();
        std::string s = g->status_at(now);
        if (s == "revoked")
          return make_error(Errc::grant_revoked, "grant " + grant_id + " is revoked");
        if (s == "expired")
          return make_error(Errc::grant_expired, "grant " + grant_id + " has expired");
        if (s != "pending")
          return make_error(Errc::conflict,
                            "grant " + grant_id + " is already " + s +
                                " (a peer enrolled); tokens are for pending grants");
        auto st = db.prepare(
            "INSERT INTO fed_tokens(digest, grant_id, created_at, expires_at) VALUES(?,?,?,?)");
        if (!st) return st.error();
        bind_text(*st, 1, digest);
        bind_text(*st, 2, grant_id);
        sqlite3_bind_int64(*st, 3, now);
        sqlite3_bind_int64(*st, 4, expires_at);
        if (auto r = step_done(db, *st, "storing an enrollment token"); !r) return r.error();
        a.detail = "enrollment token for grant " + grant_id + " (expires " +
                   std::to_string(expires_at) + ")";
        return std::move(*g);
      },
      audit);
}

Result<FedEnrollment> Store::fed_redeem(
    const std::string& digest, std::int64_t now,
    const std::function<Result<X509Ptr>(const FedGrant&)>& issue, const AuditEntry& audit) {
  return write_tx<FedEnrollment>(
      [&](Db& db, AuditEntry& a) -> Result<FedEnrollment> {
        auto st =
            db.prepare("SELECT grant_id, expires_at, used_at FROM fed_tokens WHERE digest = ?");
        if (!st) return st.error();
        bind_text(*st, 1, digest);
        if (sqlite3_step(*st) != SQLITE_ROW) {
          sqlite3_reset(*st);
          return make_error(Errc::enrollment_token_unknown, "enrollment token not recognised");
        }
        std::string grant_id = col_text(*st, 0);
        std::int64_t expires_at = sqlite3_column_int64(*st, 1);
        auto used_at = sqlite_column_opt(*st, 2);
        sqlite3_reset(*st);
        a.detail = "grant " + grant_id;
        if (used_at)
          return make_error(Errc::enrollment_token_used,
                            "enrollment token for grant " + grant_id + " was already used");
        if (now >= expires_at)
          return make_error(Errc::enrollment_token_expired,
                            "enrollment token for grant " + grant_id + " has expired");
        auto g = grant_or_404(db, grant_id);
        if (!g) return g.error();
        std::string s = g->status_at(now);
        if (s == "revoked")
          return make_error(Errc::grant_revoked, "grant " + grant_id + " is revoked");
        if (s == "expired")
          return make_error(Errc::grant_expired, "grant " + grant_id + " has expired");
        if (s != "pending")
          return make_error(Errc::grant_already_active,
                            "grant " + grant_id + " is already active: another enrollment won");
        auto cert = issue(*g);
        if (!cert) return cert.error();
        auto pem = x509_to_pem(cert->get());
        if (!pem) return pem.error();
        auto info = pki::federation::read_peer_certificate(cert->get());
        if (!info) return info.error();
        auto u =
            db.prepare("UPDATE fed_tokens SET used_at = ? WHERE digest = ? AND used_at IS NULL");
        if (!u) return u.error();
        sqlite3_bind_int64(*u, 1, now);
        bind_text(*u, 2, digest);
        if (auto r = step_done(db, *u, "marking the token used"); !r) return r.error();
        auto act = db.prepare(
            "UPDATE fed_grants SET status = 'active', activated_at = ? WHERE id = ? AND status = "
            "'pending'");
        if (!act) return act.error();
        sqlite3_bind_int64(*act, 1, now);
        bind_text(*act, 2, grant_id);
        if (auto r = step_done(db, *act, "activating the grant"); !r) return r.error();
        if (sqlite3_changes(db.handle()) != 1)
          return make_error(Errc::grant_already_active,
                            "grant " + grant_id + " is no longer pending");
        auto ins = db.prepare(
            "INSERT INTO fed_issued(serial, grant_id, peer_id, not_after, issued_at, state, "
            "cert_pem) VALUES(?,?,?,?,?,'issued',?)");
        if (!ins) return ins.error();
        bind_text(*ins, 1, info->serial);
        bind_text(*ins, 2, grant_id);
        bind_text(*ins, 3, g->peer_id);
        sqlite3_bind_int64(*ins, 4, static_cast<std::int64_t>(info->not_after));
        sqlite3_bind_int64(*ins, 5, now);
        bind_text(*ins, 6, *pem);
        if (auto r = step_done(db, *ins, "recording the peer certificate"); !r) return r.error();
        g->status = "active";
        g->activated_at = now;
        a.detail = "grant " + grant_id + " activated: peer " + g->peer_id + " enrolled, serial " +
                   info->serial;
        return FedEnrollment{std::move(*g), std::move(*pem)};
      },
      audit);
}

Result<std::optional<FedPeerAccess>> Store::fed_peer_access(const std::string& serial) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  auto st = r.db->prepare(
      "SELECT serial, grant_id, peer_id, not_after, issued_at, state, revoked_at FROM fed_issued "
      "WHERE serial = ?");
  if (!st) return st.error();
  bind_text(*st, 1, serial);
  if (sqlite3_step(*st) != SQLITE_ROW) {
    sqlite3_reset(*st);
    return std::optional<FedPeerAccess>();
  }
  FedPeerAccess acc;
  acc.cert.serial = col_text(*st, 0);
  acc.cert.grant_id = col_text(*st, 1);
  acc.cert.peer_id = col_text(*st, 2);
  acc.cert.not_after = sqlite3_column_int64(*st, 3);
  acc.cert.issued_at = sqlite3_column_int64(*st, 4);
  acc.cert.state = col_text(*st, 5);
  acc.cert.revoked_at = sqlite_column_opt(*st, 6);
  sqlite3_reset(*st);
  auto g = grant_or_404(*r.db, acc.cert.grant_id);
  if (!g) return g.error();
  acc.grant = std::move(*g);
  return std::optional<FedPeerAccess>(std::move(acc));
}

Result<std::vector<FedIssuedCert>> Store::fed_revoked_certs() {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  auto st = r.db->prepare(
      "SELECT serial, grant_id, peer_id, not_after, issued_at, revoked_at FROM fed_issued WHERE "
      "state = 'revoked' ORDER BY revoked_at, serial");
  if (!st) return st.error();
  std::vector<FedIssuedCert> out;
  while (sqlite3_step(*st) == SQLITE_ROW) {
    FedIssuedCert c;
    c.serial = col_text(*st, 0);
    c.grant_id = col_text(*st, 1);
    c.peer_id = col_text(*st, 2);
    c.not_after = sqlite3_column_int64(*st, 3);
    c.issued_at = sqlite3_column_int64(*st, 4);
    c.state = "revoked";
    c.revoked_at = sqlite_column_opt(*st, 5);
    out.push_back(std::move(c));
  }
  sqlite3_reset(*st);
  return out;
}

Result<std::int64_t> Store::fed_next_crl_number() {
  std::lock_guard wl(write_mu_);
  Db& db = *writer_;
  return in_write_transaction<std::int64_t>(db, [&]() -> Result<std::int64_t> {
    if (auto r = db.exec("UPDATE fed_crl_number SET n = n + 1 WHERE id = 1"); !r) return r.error();
    auto st = db.prepare("SELECT n FROM fed_crl_number WHERE id = 1");
    if (!st) return st.error();
    std::int64_t n = 0;
    if (sqlite3_step(*st) == SQLITE_ROW) n = sqlite3_column_int64(*st, 0);
    sqlite3_reset(*st);
    return n;
  });
}

Result<nlohmann::json> Store::fed_read(const std::string& resource, std::int64_t limit,
                                       std::int64_t now) {
  using nlohmann::json;
  json rows = json::array();
  if (resource == "tenants") {
    auto ts = list_tenants(now);
    if (!ts) return ts.error();
    for (auto& t : *ts) {
      if (static_cast<std::int64_t>(rows.size()) >= limit) break;
      rows.push_back(json(t));
    }
    return rows;
  }
  if (resource == "fenced-leases") {
    auto fs = list_fenced();
    if (!fs) return fs.error();
    for (auto& f : *fs) {
      if (static_cast<std::int64_t>(rows.size()) >= limit) break;
      rows.push_back(json(f));
    }
    return rows;
  }
  if (resource == "audit") {
    AuditFilter f;
    f.limit = limit;
    auto es = query_audit(f);
    if (!es) return es.error();
    for (auto& e : *es) rows.push_back(json(e));
    return rows;
  }
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  if (resource == "leases") {
    auto st = r.db->prepare(
        "SELECT lease_id, tenant, node_id, resource_kind, mem, cpu, state, created_at, expires_at "
        "FROM leases ORDER BY created_at, lease_id LIMIT ?");
    if (!st) return st.error();
    sqlite3_bind_int64(*st, 1, limit);
    while (sqlite3_step(*st) == SQLITE_ROW)
      rows.push_back(json{{"lease_id", col_text(*st, 0)},
                          {"tenant", col_text(*st, 1)},
                          {"node_id", col_text(*st, 2)},
                          {"resource_kind", col_text(*st, 3)},
                          {"mem", sqlite3_column_int64(*st, 4)},
                          {"cpu", sqlite3_column_int64(*st, 5)},
                          {"state", col_text(*st, 6)},
                          {"created_at", sqlite3_column_int64(*st, 7)},
                          {"expires_at", sqlite3_column_int64(*st, 8)}});
    sqlite3_reset(*st);
    return rows;
  }
  if (resource == "cells") {
    auto st = r.db->prepare(
        "SELECT provider, cell_id, registered_at, last_seen FROM cells ORDER BY provider, cell_id "
        "LIMIT ?");
    if (!st) return st.error();
    sqlite3_bind_int64(*st, 1, limit);
    while (sqlite3_step(*st) == SQLITE_ROW)
      rows.push_back(json{{"provider", col_text(*st, 0)},
                          {"cell_id", col_text(*st, 1)},
                          {"registered_at", sqlite3_column_int64(*st, 2)},
                          {"last_seen", sqlite3_column_int64(*st, 3)}});
    sqlite3_reset(*st);
    return rows;
  }
  return make_error(Errc::endpoint_not_found, "no federation resource '" + resource + "'");
}

Result<FedPeer> Store::fed_put_peer(const FedPeer& p, const AuditEntry& audit) {
  return write_tx<FedPeer>(
      [&](Db& db, AuditEntry& a) -> Result<FedPeer> {
        auto old = peer_by_id(db, p.peer_id);
        if (!old) return old.error();
        if (*old && (*old)->status == "active")
          return make_error(Errc::conflict, "peer " + p.peer_id + " is already enrolled");
        auto st = db.prepare(
            "INSERT OR REPLACE INTO fed_peers(peer_id, remote_url, grant_id, user_id, "
            "ca_fingerprint, ca_pem, sealed_key, key_ref, csr_pem, status, created_at) "
            "VALUES(?,?,?,?,?,?,?,?,?,'pending',?)");
        if (!st) return st.error();
        bind_text(*st, 1, p.peer_id);
        bind_text(*st, 2, p.remote_url);
        bind_text(*st, 3, p.grant_id);
        bind_text(*st, 4, p.user_id);
        bind_text(*st, 5, p.ca_fingerprint);
        bind_text(*st, 6, p.ca_pem);
        bind_text(*st, 7, p.sealed_key);
        bind_text(*st, 8, p.key_ref);
        bind_text(*st, 9, p.csr_pem);
        sqlite3_bind_int64(*st, 10, p.created_at);
        if (auto r = step_done(db, *st, "storing the peer record"); !r) return r.error();
        a.detail = "peer " + p.peer_id + ": key made and sealed, CSR for grant " + p.grant_id;
        FedPeer out = p;
        out.status = "pending";
        return out;
      },
      audit);
}

Result<FedPeer> Store::fed_set_peer_cert(const FedPeer& p, const AuditEntry& audit) {
  return write_tx<FedPeer>(
      [&](Db& db, AuditEntry& a) -> Result<FedPeer> {
        auto old = peer_by_id(db, p.peer_id);
        if (!old) return old.error();
        if (!*old) return make_error(Errc::remote_not_found, "no peer '" + p.peer_id + "'");
        if ((*old)->status != "pending")
          return make_error(Errc::conflict, "peer " + p.peer_id + " is already enrolled");
        auto st = db.prepare(
            "UPDATE fed_peers SET cert_pem = ?, chain_pem = ?, cert_sha256 = ?, not_after = ?, "
            "status = 'active' WHERE peer_id = ? AND status = 'pending'");
        if (!st) return st.error();
        bind_text(*st, 1, p.cert_pem);
        bind_text(*st, 2, p.chain_pem);
        bind_text(*st, 3, p.cert_sha256);
        bind_opt(*st, 4, p.not_after);
        bind_text(*st, 5, p.peer_id);
        if (auto r = step_done(db, *st, "storing the peer certificate"); !r) return r.error();
        a.detail = "peer " + p.peer_id + " enrolled: certificate sha256 " + p.cert_sha256;
        FedPeer out = **old;
        out.cert_pem = p.cert_pem;
        out.chain_pem = p.chain_pem;
        out.cert_sha256 = p.cert_sha256;
        out.not_after = p.not_after;
        out.status = "active";
        return out;
      },
      audit);
}

Result<FedPeer> Store::fed_get_peer(const std::string& peer_id) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  auto p = peer_by_id(*r.db, peer_id);
  if (!p) return p.error();
  if (!*p) return make_error(Errc::remote_not_found, "no peer '" + peer_id.substr(0, 80) + "'");
  return std::move(**p);
}

Result<std::vector<FedPeer>> Store::fed_list_peers() {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  static const std::string sql =
      std::string("SELECT ") + kPeerCols + " FROM fed_peers ORDER BY created_at, peer_id";
  auto st = r.db->prepare(sql.c_str());
  if (!st) return st.error();
  std::vector<FedPeer> out;
  while (sqlite3_step(*st) == SQLITE_ROW) out.push_back(peer_from_row(*st));
  sqlite3_reset(*st);
  return out;
}

}  // namespace grafos::registry
