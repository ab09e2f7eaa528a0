#include "registry/migrations.hpp"

namespace grafos::registry {
namespace {

// Migration N (1-based) brings the schema from version N-1 to N. Append only.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE tenants(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','disabled')),
  quota_mem INTEGER NOT NULL DEFAULT 0 CHECK (quota_mem >= 0),
  quota_cpu INTEGER NOT NULL DEFAULT 0 CHECK (quota_cpu >= 0),
  created_at INTEGER NOT NULL,
  last_used INTEGER,
  token_digest TEXT UNIQUE);
CREATE TABLE admin_tokens(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('fabric-admin','fabric-observer')),
  status TEXT NOT NULL DEFAULT 'active',
  created_at INTEGER NOT NULL,
  last_used INTEGER,
  token_digest TEXT NOT NULL UNIQUE);
CREATE TABLE leases(
  lease_id TEXT PRIMARY KEY,
  tenant_id INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  node_id TEXT NOT NULL,
  resource_kind TEXT NOT NULL,
  mem INTEGER NOT NULL,
  cpu INTEGER NOT NULL,
  holder TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active','released','fenced')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX leases_by_tenant ON leases(tenant_id, state);
CREATE TABLE fences(
  lease_id TEXT PRIMARY KEY REFERENCES leases(lease_id),
  reason TEXT NOT NULL,
  fenced_at INTEGER NOT NULL);
CREATE TABLE audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  principal TEXT NOT NULL,
  tenant_id INTEGER,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '');
CREATE INDEX audit_by_time ON audit(time, id);
CREATE TABLE cells(
  provider TEXT NOT NULL,
  cell_id TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (provider, cell_id));
)sql",
    // 2: a counter that every change to tenants, leases or admin tokens bumps, from any connection
    // (the server, `grafos-registry tenant ...` on the same file, sqlite3), so a reader can tell
    // with one indexed row whether a cached tenant list or token lookup is still current.
    R"sql(
CREATE TABLE state_version(id INTEGER PRIMARY KEY CHECK (id = 1), v INTEGER NOT NULL);
INSERT INTO state_version VALUES(1, 0);
CREATE TRIGGER tenants_ins_version AFTER INSERT ON tenants
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_upd_version AFTER UPDATE ON tenants
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_del_version AFTER DELETE ON tenants
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER leases_ins_version AFTER INSERT ON leases
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER leases_upd_version AFTER UPDATE ON leases
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER leases_del_version AFTER DELETE ON leases
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER admin_tokens_ins_version AFTER INSERT ON admin_tokens
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER admin_tokens_upd_version AFTER UPDATE ON admin_tokens
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
CREATE TRIGGER admin_tokens_del_version AFTER DELETE ON admin_tokens
  BEGIN UPDATE state_version SET v = v + 1 WHERE id = 1; END;
)sql",
    // 3: the RFC 3161 TSA's serial counter (registry/tsa.hpp): the next serial not yet reserved.
    // Blocks are reserved by moving it forward in a write transaction, so a serial is never
    // handed out twice, across restarts and crashes.
    R"sql(
CREATE TABLE tsa_serials(id INTEGER PRIMARY KEY CHECK (id = 1),
  next INTEGER NOT NULL CHECK (next > 0));
INSERT INTO tsa_serials VALUES(1, 1);
)sql",
    // 4: federation (seed 001). The granting side: grants, enrollment token digests (never the
    // token), every certificate the enrollment intermediate issued, its CRL number. The enrolling
    // side: peer records with the private key sealed (util/seal), never in clear.
    R"sql(
CREATE TABLE fed_grants(
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  peer_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','active','revoked')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  activated_at INTEGER,
  revoked_at INTEGER,
  revoke_reason TEXT NOT NULL DEFAULT '');
CREATE INDEX fed_grants_by_peer ON fed_grants(peer_id);
CREATE TABLE fed_tokens(
  digest TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES fed_grants(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER);
CREATE TABLE fed_issued(
  serial TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES fed_grants(id),
  peer_id TEXT NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('issued','revoked')),
  revoked_at INTEGER,
  cert_pem TEXT NOT NULL);
CREATE INDEX fed_issued_by_grant ON fed_issued(grant_id);
CREATE TABLE fed_crl_number(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO fed_crl_number VALUES(1, 0);
CREATE TABLE fed_peers(
  peer_id TEXT PRIMARY KEY,
  remote_url TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  ca_fingerprint TEXT NOT NULL,
  ca_pem TEXT NOT NULL,
  sealed_key TEXT NOT NULL DEFAULT '',
  key_ref TEXT NOT NULL DEFAULT '',
  csr_pem TEXT NOT NULL,
  cert_pem TEXT NOT NULL DEFAULT '',
  chain_pem TEXT NOT NULL DEFAULT '',
  cert_sha256 TEXT NOT NULL DEFAULT '',
  not_after INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending','active')),
  created_at INTEGER NOT NULL);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

Result<void> migrate(Db& db, const std::string& path) {
  if (auto r = db.exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version(version INTEGER "
                       "NOT NULL);");
      !r)
    return r.error();
  int version = 0;
  {
    auto st = db.prepare("SELECT version FROM schema_version");
    if (!st) {
      (void)db.exec("ROLLBACK");
      return st.error();
    }
    if (sqlite3_step(*st) == SQLITE_ROW) version = sqlite3_column_int(*st, 0);
    sqlite3_reset(*st);
  }
  if (version > kSchemaVersion) {
    (void)db.exec("ROLLBACK");
    return make_error(Errc::invalid_input, "database " + path + " has schema version " +
                                               std::to_string(version) + ", newer than this " +
                                               "build's " + std::to_string(kSchemaVersion));
  }
  for (int v = version; v < kSchemaVersion; ++v)
    if (auto r = db.exec(kMigrations[v]); !r) {
      (void)db.exec("ROLLBACK");
      return r.error().context("migrating to schema version " + std::to_string(v + 1));
    }
  std::string set = "DELETE FROM schema_version; INSERT INTO schema_version VALUES(" +
                    std::to_string(kSchemaVersion) + "); COMMIT;";
  if (auto r = db.exec(set.c_str()); !r) {
    (void)db.exec("ROLLBACK");
    return r.error();
  }
  return ok();
}

}  // namespace grafos::registry
