#include "pki/ledger.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace grafos::pki {
namespace {

// Version 2 added the state 'void'. A version 1 ledger is migrated when it is opened.
constexpr int kSchemaVersion = 2;

// The certificates table and its indexes (the current version), for a new ledger and for the
// migration that rebuilds an older one.
constexpr const char* kCertsTable = R"(
CREATE TABLE IF NOT EXISTS certs (
  serial TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  identity TEXT NOT NULL,
  subject TEXT NOT NULL,
  san TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  spki_sha256 TEXT NOT NULL,
  tbs_sha256 TEXT NOT NULL,
  cert_sha256 TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('reserved', 'issued', 'revoked', 'void')),
  reserved_at INTEGER NOT NULL,
  issued_at INTEGER,
  revoked_at INTEGER,
  reason INTEGER,
  invalidity_date INTEGER,
  path TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS certs_spki ON certs (spki_sha256);
CREATE INDEX IF NOT EXISTS certs_state ON certs (state);
)";

constexpr const char* kMetaTable =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

// Version 1 -> 2: SQLite cannot change a CHECK constraint in place, so the table is rebuilt with
// the new one (kCertsTable in between these two), rows and order (rowid) kept, inside the
// caller's transaction. The old indexes go first: they would keep their names on certs_v1.
constexpr const char* kMigrate1to2Before = R"(
DROP INDEX IF EXISTS certs_spki;
DROP INDEX IF EXISTS certs_state;
ALTER TABLE certs RENAME TO certs_v1;
)";
constexpr const char* kMigrate1to2After = R"(
INSERT INTO certs (rowid, serial, role, identity, subject, san, not_before, not_after,
  spki_sha256, tbs_sha256, cert_sha256, state, reserved_at, issued_at, revoked_at, reason,
  invalidity_date, path)
  SELECT rowid, serial, role, identity, subject, san, not_before, not_after, spki_sha256,
  tbs_sha256, cert_sha256, state, reserved_at, issued_at, revoked_at, reason, invalidity_date,
  path FROM certs_v1;
DROP TABLE certs_v1;
)";

constexpr const char* kColumns =
    "serial, role, identity, subject, san, not_before, not_after, spki_sha256, tbs_sha256, "
    "cert_sha256, state, reserved_at, issued_at, revoked_at, reason, invalidity_date, path";

struct ReasonName {
  RevocationReason reason;
  std::string_view name;
};
constexpr std::array<ReasonName, 8> kReasons = {{
    {RevocationReason::unspecified, "unspecified"},
    {RevocationReason::key_compromise, "keyCompromise"},
    {RevocationReason::ca_compromise, "cACompromise"},
    {RevocationReason::affiliation_changed, "affiliationChanged"},
    {RevocationReason::superseded, "superseded"},
    {RevocationReason::cessation_of_operation, "cessationOfOperation"},
    {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
    {RevocationReason::aa_compromise, "aACompromise"},
}};

// "key-compromise", "KEY_COMPROMISE" and "keyCompromise" all compare as "keycompromise".
std::string folded(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

LedgerEntry read_row(sqlite3_stmt* s) {
  LedgerEntry e;
  e.serial = sqlite_column_text(s, 0);
  e.role = sqlite_column_text(s, 1);
  e.identity = sqlite_column_text(s, 2);
  e.subject = sqlite_column_text(s, 3);
  e.san = sqlite_column_text(s, 4);
  e.not_before = sqlite3_column_int64(s, 5);
  e.not_after = sqlite3_column_int64(s, 6);
  e.spki_sha256 = sqlite_column_text(s, 7);
  e.tbs_sha256 = sqlite_column_text(s, 8);
  e.cert_sha256 = sqlite_column_text(s, 9);
  auto st = parse_cert_state(sqlite_column_text(s, 10));
  e.state = st ? *st : CertState::reserved;
  e.reserved_at = sqlite3_column_int64(s, 11);
  e.issued_at = sqlite_column_opt(s, 12);
  e.revoked_at = sqlite_column_opt(s, 13);
  if (auto r = sqlite_column_opt(s, 14)) e.reason = static_cast<RevocationReason>(*r);
  e.invalidity_date = sqlite_column_opt(s, 15);
  e.path = sqlite_column_text(s, 16);
  return e;
}

}  // namespace

std::string_view cert_state_name(CertState s) {
  switch (s) {
    case CertState::reserved:
      return "reserved";
    case CertState::issued:
      return "issued";
    case CertState::revoked:
      return "revoked";
    case CertState::voided:
      return "void";
  }
  return "reserved";
}

Result<CertState> parse_cert_state(std::string_view s) {
  for (CertState c :
       {CertState::reserved, CertState::issued, CertState::revoked, CertState::voided})
    if (s == cert_state_name(c)) return c;
  return make_error(Errc::usage,
                    "state '" + std::string(s) + "' is not one of reserved, issued, revoked, void");
}

std::string_view revocation_reason_name(RevocationReason r) {
  for (auto& n : kReasons)
    if (n.reason == r) return n.name;
  return "unspecified";
}

Result<RevocationReason> parse_revocation_reason(std::string_view s) {
  std::string want = folded(s);
  std::string names;
  for (auto& n : kReasons) {
    if (folded(n.name) == want) return n.reason;
    names += (names.empty() ? "" : ", ") + std::string(n.name);
  }
  return make_error(Errc::usage, "reason '" + std::string(s.substr(0, 40)) +
                                     "' is not an RFC 5280 reason (" + names + ")");
}

std::filesystem::path Ledger::default_path(const std::filesystem::path& ca_cert) {
  // ca.pem -> ca-ledger.db; other-ca.pem -> other-ca-ledger.db (two CAs in one folder never
  // share a ledger).
  return ca_cert.parent_path() / (ca_cert.stem().string() + "-ledger.db");
}

Result<std::unique_ptr<Ledger>> Ledger::open(const std::filesystem::path& path,
                                             std::string_view ca_sha256,
                                             std::string_view ca_spki_sha256, bool create) {
  std::unique_ptr<Ledger> l(new Ledger());
  auto db = SqliteDb::open(path.string(), create);
  if (!db) return std::move(db).error();
  l->db_ = std::move(*db);
  l->ca_spki_ = std::string(ca_spki_sha256);
  auto fail = [&](Error e) { return std::move(e).context("ledger " + path.string()); };
  if (auto r = l->db_->exec((std::string(kMetaTable) + kCertsTable).c_str()); !r)
    return fail(r.error());
  auto ca = l->meta("ca_sha256");
  if (!ca) return fail(ca.error());
  if (!*ca) {
    auto tx = SqliteTransaction::begin(*l->db_);
    if (!tx) return fail(tx.error());
    if (auto r = l->set_meta("ca_sha256", ca_sha256); !r) return fail(r.error());
    if (auto r = l->set_meta("schema_version", std::to_string(kSchemaVersion)); !r)
      return fail(r.error());
    if (auto r = tx->commit(); !r) return fail(r.error());
  } else if (**ca != ca_sha256) {
    return fail(make_error(
        Errc::invalid_input,
        "this ledger belongs to another CA (its CA certificate has SHA-256 " + **ca + ")"));
  } else if (auto r = l->migrate(); !r) {
    return fail(r.error());
  }
  return l;
}

Result<void> Ledger::migrate() {
  return in_write_transaction<void>(*db_, [&]() -> Result<void> {
    auto v = meta("schema_version");
    if (!v) return v.error();
    const std::string version = v->value_or("1");
    if (version == std::to_string(kSchemaVersion)) return ok();
    if (version != "1")
      return make_error(Errc::invalid_input, "the ledger has schema version " + version +
                                                 ", newer than this " + "grafos-ca knows (" +
                                                 std::to_string(kSchemaVersion) +
                                                 "): use the grafos-ca that made it");
    // A table is dropped below: no cached statement may still be mid-step.
    for (sqlite3_stmt* st = sqlite3_next_stmt(db_->handle(), nullptr); st != nullptr;
         st = sqlite3_next_stmt(db_->handle(), st))
      sqlite3_reset(st);
    const std::string migrate = std::string(kMigrate1to2Before) + kCertsTable + kMigrate1to2After;
    if (auto r = db_->exec(migrate.c_str()); !r) return r.error().context("migrating to version 2");
    return set_meta("schema_version", std::to_string(kSchemaVersion));
  });
}

Result<std::optional<std::string>> Ledger::meta(std::string_view key) {
  auto s = db_->prepare("SELECT value FROM meta WHERE key = ?");
  if (!s) return s.error();
  sqlite_bind_text(*s, 1, key);
  int rc = sqlite3_step(*s);
  if (rc == SQLITE_ROW) return std::optional<std::string>(sqlite_column_text(*s, 0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return db_->error("reading ledger meta");
}

Result<void> Ledger::set_meta(std::string_view key, std::string_view value) {
  auto s = db_->prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!s) return s.error();
  sqlite_bind_text(*s, 1, key);
  sqlite_bind_text(*s, 2, value);
  if (sqlite3_step(*s) != SQLITE_DONE) return db_->error("writing ledger meta");
  return ok();
}

Result<void> Ledger::reserve(const LedgerEntry& e) {
  return in_write_transaction<void>(*db_, [&]() -> Result<void> {
    if (e.spki_sha256 == ca_spki_ && e.role != "ca")
      return make_error(Errc::invalid_input,
                        "the public key is the CA's own key: a CA never certifies its own key as "
                        "a leaf");
    auto s = db_->prepare(
        "SELECT identity, serial FROM certs WHERE spki_sha256 = ? AND "
        "identity <> ? AND state <> 'void' LIMIT 1");
    if (!s) return s.error();
    sqlite_bind_text(*s, 1, e.spki_sha256);
    sqlite_bind_text(*s, 2, e.identity);
    int rc = sqlite3_step(*s);
    if (rc == SQLITE_ROW)
      return make_error(Errc::invalid_input,
                        "the public key is already certified for another identity (" +
                            sqlite_column_text(*s, 0) + ", serial " + sqlite_column_text(*s, 1) +
                            "): each identity needs its own key");
    if (rc != SQLITE_DONE) return db_->error("checking the ledger for the public key");
    auto ins = db_->prepare(
        "INSERT INTO certs (serial, role, identity, subject, san, not_before, not_after, "
        "spki_sha256, tbs_sha256, state, reserved_at, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "'reserved', ?, ?) ON CONFLICT (serial) DO NOTHING");
    if (!ins) return ins.error();
    sqlite_bind_text(*ins, 1, e.serial);
    sqlite_bind_text(*ins, 2, e.role);
    sqlite_bind_text(*ins, 3, e.identity);
    sqlite_bind_text(*ins, 4, e.subject);
    sqlite_bind_text(*ins, 5, e.san);
    sqlite3_bind_int64(*ins, 6, e.not_before);
    sqlite3_bind_int64(*ins, 7, e.not_after);
    sqlite_bind_text(*ins, 8, e.spki_sha256);
    sqlite_bind_text(*ins, 9, e.tbs_sha256);
    sqlite3_bind_int64(*ins, 10, e.reserved_at);
    sqlite_bind_text(*ins, 11, e.path);
    if (sqlite3_step(*ins) != SQLITE_DONE) return db_->error("reserving a serial in the ledger");
    if (sqlite3_changes(db_->handle()) == 0)
      return make_error(Errc::exists, "serial " + e.serial + " is already in the ledger");
    return ok();
  });
}

Result<void> Ledger::confirm(std::string_view serial, std::string_view cert_sha256,
                             std::string_view path, std::int64_t now) {
  return in_write_transaction<void>(*db_, [&]() -> Result<void> {
    auto s = db_->prepare(
        "UPDATE certs SET state = 'issued', cert_sha256 = ?, path = ?, issued_at = ? "
        "WHERE serial = ? AND state = 'reserved'");
    if (!s) return s.error();
    sqlite_bind_text(*s, 1, cert_sha256);
    sqlite_bind_text(*s, 2, path);
    sqlite3_bind_int64(*s, 3, now);
    sqlite_bind_text(*s, 4, serial);
    if (sqlite3_step(*s) != SQLITE_DONE) return db_->error("confirming a ledger row");
    if (sqlite3_changes(db_->handle()) != 1)
      return make_error(Errc::internal,
                        "serial " + std::string(serial) + " is not reserved in the ledger");
    return ok();
  });
}

Result<void> Ledger::release(std::string_view serial) {
  return in_write_transaction<void>(*db_, [&]() -> Result<void> {
    auto s = db_->prepare("DELETE FROM certs WHERE serial = ? AND state = 'reserved'");
    if (!s) return s.error();
    sqlite_bind_text(*s, 1, serial);
    if (sqlite3_step(*s) != SQLITE_DONE) return db_->error("releasing a ledger row");
    return ok();
  });
}

Result<LedgerEntry> Ledger::revoke(std::string_view serial, RevocationReason reason,
                                   std::int64_t now, std::optional<std::int64_t> invalidity_date) {
  return in_write_transaction<LedgerEntry>(*db_, [&]() -> Result<LedgerEntry> {
    auto row = find(serial);
    if (!row) return row.error();
    if (!*row)
      return make_error(Errc::invalid_input,
                        "serial " + std::string(serial) + " is not in the ledger of this CA");
    LedgerEntry e = std::move(**row);
    if (e.role == "ca")
      return make_error(Errc::invalid_input,
                        "serial " + e.serial +
                            " is a CA certificate: a CA is not revoked on its own CRL (replace "
                            "the CA instead)");
    if (e.state == CertState::voided)
      return make_error(
          Errc::invalid_input,
          "serial " + e.serial + " is void: its custodian confirmed it was never issued");
    if (e.state == CertState::revoked)
      return make_error(Errc::invalid_input,
                        "serial " + e.serial + " is already revoked (" +
                            std::string(revocation_reason_name(
                                e.reason.value_or(RevocationReason::unspecified))) +
                            ")");
    auto s = db_->prepare(
        "UPDATE certs SET state = 'revoked', revoked_at = ?, reason = ?, invalidity_date = ? "
        "WHERE serial = ?");
    if (!s) return s.error();
    sqlite3_bind_int64(*s, 1, now);
    sqlite3_bind_int(*s, 2, static_cast<int>(reason));
    sqlite_bind_opt(*s, 3, invalidity_date);
    sqlite_bind_text(*s, 4, serial);
    if (sqlite3_step(*s) != SQLITE_DONE) return db_->error("revoking in the ledger");
    e.state = CertState::revoked;
    e.revoked_at = now;
    e.reason = reason;
    e.invalidity_date = invalidity_date;
    return e;
  });
}

Result<LedgerEntry> Ledger::void_reserved(std::string_view serial) {
  return in_write_transaction<LedgerEntry>(*db_, [&]() -> Result<LedgerEntry> {
    auto row = find(serial);
    if (!row) return row.error();
    if (!*row)
      return make_error(Errc::invalid_input,
                        "serial " + std::string(serial) + " is not in the ledger of this CA");
    LedgerEntry e = std::move(**row);
    if (e.state != CertState::reserved)
      return make_error(Errc::invalid_input,
                        "serial " + e.serial + " is " + std::string(cert_state_name(e.state)) +
                            ", not reserved: only a reserved serial can be confirmed as never "
                            "issued");
    auto s =
        db_->prepare("UPDATE certs SET state = 'void' WHERE serial = ? AND state = 'reserved'");
    if (!s) return s.error();
    sqlite_bind_text(*s, 1, serial);
    if (sqlite3_step(*s) != SQLITE_DONE) return db_->error("voiding a serial in the ledger");
    e.state = CertState::voided;
    return e;
  });
}

Result<std::optional<LedgerEntry>> Ledger::find(std::string_view serial) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM certs WHERE serial = ?";
  auto s = db_->prepare(sql.c_str());
  if (!s) return s.error();
  sqlite_bind_text(*s, 1, serial);
  int rc = sqlite3_step(*s);
  if (rc == SQLITE_ROW) return std::optional<LedgerEntry>(read_row(*s));
  if (rc == SQLITE_DONE) return std::optional<LedgerEntry>();
  return db_->error("reading the ledger");
}

Result<std::vector<LedgerEntry>> Ledger::list(const LedgerFilter& f) {
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM certs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR "
                                 "role = ?2) AND (?3 IS NULL OR not_after < ?3) ORDER BY rowid";
  auto s = db_->prepare(sql.c_str());
  if (!s) return s.error();
  if (f.state) sqlite_bind_text(*s, 1, cert_state_name(*f.state));
  if (f.role) sqlite_bind_text(*s, 2, *f.role);
  sqlite_bind_opt(*s, 3, f.not_after_before);
  std::vector<LedgerEntry> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW) out.push_back(read_row(*s));
  if (rc != SQLITE_DONE) return db_->error("listing the ledger");
  return out;
}

Result<std::vector<std::string>> Ledger::integrity_problems() {
  auto s = db_->prepare("PRAGMA integrity_check");
  if (!s) return s.error();
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
    if (auto line = sqlite_column_text(*s, 0); line != "ok") out.push_back(line);
  if (rc != SQLITE_DONE) return db_->error("checking the ledger's integrity");
  return out;
}

Result<std::int64_t> Ledger::next_crl_number() {
  return in_write_transaction<std::int64_t>(*db_, [&]() -> Result<std::int64_t> {
    auto cur = meta("crl_number");
    if (!cur) return cur.error();
    std::int64_t n = 1;
    if (*cur) {
      try {
        n = std::stoll(**cur) + 1;
      } catch (...) {
        return make_error(Errc::invalid_input, "the ledger's CRL number '" + **cur +
                                                   "' is not a number (the ledger was edited)");
      }
    }
    if (auto r = set_meta("crl_number", std::to_string(n)); !r) return r.error();
    return n;
  });
}

}  // namespace grafos::pki
