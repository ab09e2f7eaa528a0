#include "registry/store.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

#include <nlohmann/json.hpp>

#include "util/bytes.hpp"

namespace grafos::registry {
namespace {

using admin::AuditEntry;
using admin::FencedLease;
using admin::Lease;
using admin::Tenant;

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
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

constexpr const char* kTenantCols =
    "SELECT t.id, t.name, t.status, t.quota_mem, t.quota_cpu,"
    " COALESCE(SUM(l.mem),0), COALESCE(SUM(l.cpu),0), COUNT(l.lease_id), t.created_at, t.last_used"
    " FROM tenants t LEFT JOIN leases l ON l.tenant_id = t.id AND (l.state = 'fenced' OR"
    " (l.state = 'active' AND l.expires_at > ?1)) ";

std::string col_text(sqlite3_stmt* s, int i) {
  auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i)) : "";
}

Tenant read_tenant(sqlite3_stmt* s) {
  Tenant t;
  t.id = sqlite3_column_int64(s, 0);
  t.name = col_text(s, 1);
  t.status = col_text(s, 2);
  t.quota_mem = static_cast<std::uint64_t>(sqlite3_column_int64(s, 3));
  t.quota_cpu = static_cast<std::uint64_t>(sqlite3_column_int64(s, 4));
  t.usage_mem = static_cast<std::uint64_t>(sqlite3_column_int64(s, 5));
  t.usage_cpu = static_cast<std::uint64_t>(sqlite3_column_int64(s, 6));
  t.active_leases = sqlite3_column_int64(s, 7);
  t.created_at = sqlite3_column_int64(s, 8);
  if (sqlite3_column_type(s, 9) != SQLITE_NULL) t.last_used = sqlite3_column_int64(s, 9);
  return t;
}

constexpr const char* kLeaseCols =
    "SELECT lease_id, tenant_id, tenant, node_id, resource_kind, mem, cpu, holder, state,"
    " created_at, expires_at FROM leases ";

Lease read_lease(sqlite3_stmt* s) {
  Lease l;
  l.lease_id = col_text(s, 0);
  l.tenant_id = sqlite3_column_int64(s, 1);
  l.tenant = col_text(s, 2);
  l.node_id = col_text(s, 3);
  l.resource_kind = col_text(s, 4);
  l.mem = static_cast<std::uint64_t>(sqlite3_column_int64(s, 5));
  l.cpu = static_cast<std::uint64_t>(sqlite3_column_int64(s, 6));
  l.holder = col_text(s, 7);
  l.state = col_text(s, 8);
  l.created_at = sqlite3_column_int64(s, 9);
  l.expires_at = sqlite3_column_int64(s, 10);
  return l;
}

FencedLease fenced_from(const Lease& l, const std::string& reason, std::int64_t fenced_at) {
  FencedLease f;
  f.lease_id = l.lease_id;
  f.tenant_id = l.tenant_id;
  f.node_id = l.node_id;
  f.resource_kind = l.resource_kind;
  f.fence_reason = reason;
  f.fenced_at = fenced_at;
  f.capacity = l.resource_kind == "cpu" ? l.cpu : l.mem;
  f.holder = l.holder;
  f.expires_at = l.expires_at;
  return f;
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  if (v)
    sqlite3_bind_int64(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}

Error wire(Errc code, const std::string& wire_code, const std::string& msg) {
  return make_error(code, wire_code + ": " + msg);
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

int http_status(Errc code) {
  switch (code) {
    case Errc::invalid_input:
    case Errc::usage:
      return 400;
    case Errc::remote_not_found:
    case Errc::tenant_not_found:
    case Errc::lease_not_found:
    case Errc::token_not_found:
    case Errc::endpoint_not_found:
      return 404;
    case Errc::exists:
    case Errc::conflict:
      return 409;
    case Errc::unauthorized:
      return 401;
    case Errc::forbidden:
      return 403;
    default:
      return 500;
  }
}

std::string audit_outcome(int status) {
  if (status < 400) return "allowed";
  if (status == 401 || status == 403) return "denied";
  return "error";
}

std::pair<std::string, std::string> split_wire_code(const std::string& message) {
  auto pos = message.find(": ");
  if (pos == std::string::npos || pos == 0) return {"", message};
  for (size_t i = 0; i < pos; ++i) {
    char c = message[i];
    if (!((c >= 'a' && c <= 'z') || c == '_')) return {"", message};
  }
  return {message.substr(0, pos), message.substr(pos + 2)};
}

// ---- Db ----

Db::~Db() {
  for (auto& [k, s] : stmts_) sqlite3_finalize(s);
  if (db_) sqlite3_close_v2(db_);
}

Error Db::error(std::string_view what) const {
  return make_error(Errc::io, std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "no db") +
                                  " (" + sqlite3_errstr(db_ ? sqlite3_extended_errcode(db_) : 0) +
                                  ")");
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool create,
                                     std::chrono::milliseconds busy_timeout) {
  std::unique_ptr<Db> d(new Db());
  if (create) {
    // Create with 0600 up front: the file holds token digests and the audit trail.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(Errc::io, "creating database " + path + ": " + strerror(errno));
    ::close(fd);
  }
  int rc =
      sqlite3_open_v2(path.c_str(), &d->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = std::string("opening database ") + path + ": " + sqlite3_errstr(rc);
    return make_error(rc == SQLITE_CANTOPEN ? Errc::file_missing : Errc::io, msg);
  }
  sqlite3_busy_timeout(d->db_, static_cast<int>(busy_timeout.count()));
  sqlite3_extended_result_codes(d->db_, 1);
  if (auto r = d->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !r)
    return r.error();
  return d;
}

Result<sqlite3_stmt*> Db::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    return error("preparing statement");
  stmts_[sql] = s;
  return s;
}

Result<void> Db::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return make_error(Errc::io, std::string("database: ") + m);
  }
  return ok();
}

// ---- Store ----

struct Store::Reader {
  Store* store;
  std::unique_ptr<Db> db;
  Reader(Store* s, std::unique_ptr<Db> d) : store(s), db(std::move(d)) {}
  Reader(Reader&&) = default;
  ~Reader() {
    if (db) {
      std::lock_guard lk(store->pool_mu_);
      store->readers_.push_back(std::move(db));
    }
  }
};

namespace {
Result<std::int64_t> read_state_version(Db& db) {
  auto st = db.prepare("SELECT v FROM state_version WHERE id = 1");
  if (!st) return st.error();
  std::int64_t v = -1;
  if (sqlite3_step(*st) == SQLITE_ROW) v = sqlite3_column_int64(*st, 0);
  sqlite3_reset(*st);
  if (v < 0) return db.error("reading the state version");
  return v;
}
}  // namespace

Store::Reader Store::acquire_reader() {
  {
    std::lock_guard lk(pool_mu_);
    if (!readers_.empty()) {
      auto d = std::move(readers_.back());
      readers_.pop_back();
      return Reader(this, std::move(d));
    }
  }
  auto d = Db::open(path_, false, busy_timeout_);
  return Reader(this, d ? std::move(*d) : nullptr);
}

Store::~Store() {
  {
    std::lock_guard lk(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  flush();
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool create,
                                           std::chrono::milliseconds busy_timeout) {
  std::unique_ptr<Store> s(new Store());
  s->path_ = path;
  s->busy_timeout_ = busy_timeout;
  auto w = Db::open(path, create, busy_timeout);
  if (!w) return w.error();
  s->writer_ = std::move(*w);
  Db& db = *s->writer_;
  if (auto r = db.exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version(version INTEGER "
                       "NOT NULL);");
      !r)
    return r.error();
  int version = 0;
  {
    auto st = db.prepare("SELECT version FROM schema_version");
    if (!st) return st.error();
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
  return s;
}

void Store::start_flusher() {
  flusher_ = std::thread([this] { flusher_loop(); });
}

void Store::flusher_loop() {
  std::unique_lock lk(queue_mu_);
  while (!stop_) {
    queue_cv_.wait_for(lk, kFlushInterval);
    if (queue_.empty() && touched_.empty()) continue;
    lk.unlock();
    flush();
    lk.lock();
  }
}

void Store::flush() {
  std::vector<QueuedAudit> q;
  std::map<std::int64_t, std::int64_t> t;
  std::lock_guard wl(write_mu_);
  {
    std::lock_guard lk(queue_mu_);
    q.swap(queue_);
    t.swap(touched_);
  }
  if (q.empty() && t.empty()) return;
  if (commit_batch(*writer_, q, t)) return;
  // Not committed (another connection holds the write lock past the busy timeout, an I/O error):
  // the batch goes back in front of whatever was queued meanwhile, for the next flush to retry.
  std::lock_guard lk(queue_mu_);
  q.insert(q.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.swap(q);
  for (auto& [id, when] : t) {
    auto& v = touched_[id];
    if (v < when) v = when;
  }
}

Result<void> Store::commit_batch(Db& db, const std::vector<QueuedAudit>& entries,
                                 const std::map<std::int64_t, std::int64_t>& touched) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r;
  auto r = [&]() -> Result<void> {
    for (auto& q : entries)
      if (auto w = insert_audit(db, q.entry, q.tenant_name); !w) return w;
    for (auto& [id, when] : touched) {
      auto st = db.prepare(
          "UPDATE tenants SET last_used = ?2 WHERE id = ?1 AND (last_used IS NULL OR last_used < "
          "?2)");
      if (!st) return st.error();
      sqlite3_bind_int64(*st, 1, id);
      sqlite3_bind_int64(*st, 2, when);
      if (sqlite3_step(*st) != SQLITE_DONE) return db.error("recording a tenant's last use");
    }
    return db.exec("COMMIT");
  }();
  if (!r) (void)db.exec("ROLLBACK");
  return r;
}

void Store::audit(AuditEntry entry, std::string tenant_name) {
  std::lock_guard lk(queue_mu_);
  queue_.push_back(QueuedAudit{std::move(entry), std::move(tenant_name)});
}

std::size_t Store::queued_audit() {
  std::lock_guard lk(queue_mu_);
  return queue_.size();
}

void Store::touch_tenant(std::int64_t tenant_id, std::int64_t now) {
  std::lock_guard lk(queue_mu_);
  auto& v = touched_[tenant_id];
  if (v < now) v = now;
}

Result<void> Store::insert_audit(Db& db, const AuditEntry& e, const std::string& tenant_name) {
  auto st = db.prepare(
      "INSERT INTO audit(time, kind, principal, tenant_id, action, outcome, detail)"
      " VALUES(?1, ?2, ?3, COALESCE(?4, (SELECT id FROM tenants WHERE name = ?8)), ?5, ?6, ?7)");
  if (!st) return st.error();
  sqlite3_bind_int64(*st, 1, e.time);
  bind_text(*st, 2, e.kind);
  bind_text(*st, 3, e.principal);
  bind_opt(*st, 4, e.tenant_id);
  bind_text(*st, 5, e.action);
  bind_text(*st, 6, e.outcome);
  bind_text(*st, 7, e.detail);
  if (tenant_name.empty())
    sqlite3_bind_null(*st, 8);
  else
    bind_text(*st, 8, tenant_name);
  if (sqlite3_step(*st) != SQLITE_DONE) return db.error("writing audit entry");
  return ok();
}

Result<void> Store::audit_now(const AuditEntry& entry) {
  std::lock_guard wl(write_mu_);
  return insert_audit(*writer_, entry);
}

template <class T, class F>
Result<T> Store::write_tx(F&& body, const AuditEntry& audit_in) {
  AuditEntry a = audit_in;
  std::unique_lock wl(write_mu_);
  Db& db = *writer_;
  // Whatever fails (BEGIN on a busy database, the change itself, its audit row, COMMIT), the
  // change is rolled back and its audit entry is queued instead, with the outcome of the HTTP
  // status the caller gets: every request ends with an audit row.
  auto fail = [&](Error e) -> Result<T> {
    wl.unlock();
    a.outcome = audit_outcome(http_status(e.code));
    a.detail = e.message;
    audit(std::move(a));
    return e;
  };
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return fail(r.error().context("BEGIN IMMEDIATE"));
  Result<T> res = body(db, a);
  if (!res) {
    (void)db.exec("ROLLBACK");
    return fail(res.error());
  }
  if (a.outcome.empty()) a.outcome = "allowed";
  if (auto r = insert_audit(db, a); !r) {
    (void)db.exec("ROLLBACK");
    return fail(r.error());
  }
  if (auto r = db.exec("COMMIT"); !r) {
    (void)db.exec("ROLLBACK");
    return fail(r.error().context("COMMIT"));
  }
  return res;
}

// ---- tenants ----

namespace {
Result<std::optional<Tenant>> find_tenant(Db& db, const char* where_sql, std::int64_t now,
                                          const std::string* name, std::int64_t id) {
  auto st = db.prepare(where_sql);
  if (!st) return st.error();
  sqlite3_bind_int64(*st, 1, now);
  if (name)
    bind_text(*st, 2, *name);
  else
    sqlite3_bind_int64(*st, 2, id);
  std::optional<Tenant> out;
  int rc = sqlite3_step(*st);
  if (rc == SQLITE_ROW && sqlite3_column_type(*st, 0) != SQLITE_NULL)
    out = read_tenant(*st);
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db.error("reading tenant");
  sqlite3_reset(*st);
  return out;
}

const std::string kByName = std::string(kTenantCols) + "WHERE t.name = ?2 GROUP BY t.id";
const std::string kById = std::string(kTenantCols) + "WHERE t.id = ?2 GROUP BY t.id";
const std::string kAll = std::string(kTenantCols) + "GROUP BY t.id ORDER BY t.id";

Result<Tenant> tenant_by_name(Db& db, const std::string& name, std::int64_t now) {
  auto t = find_tenant(db, kByName.c_str(), now, &name, 0);
  if (!t) return t.error();
  if (!*t) return wire(Errc::tenant_not_found, "not_found", "no tenant named '" + name + "'");
  return std::move(**t);
}
}  // namespace

Result<Tenant> Store::create_tenant(const std::string& name, std::uint64_t quota_mem,
                                    std::uint64_t quota_cpu, const std::string& token_digest,
                                    std::int64_t now, const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        auto existing = find_tenant(db, kByName.c_str(), now, &name, 0);
        if (!existing) return existing.error();
        if (*existing)
          return wire(
              Errc::conflict, "tenant_exists",
              "tenant '" + name + "' already exists (id " + std::to_string((*existing)->id) + ")");
        auto st = db.prepare(
            "INSERT INTO tenants(name, quota_mem, quota_cpu, created_at, token_digest)"
            " VALUES(?,?,?,?,?)");
        if (!st) return st.error();
        bind_text(*st, 1, name);
        sqlite3_bind_int64(*st, 2, static_cast<std::int64_t>(quota_mem));
        sqlite3_bind_int64(*st, 3, static_cast<std::int64_t>(quota_cpu));
        sqlite3_bind_int64(*st, 4, now);
        if (token_digest.empty())
          sqlite3_bind_null(*st, 5);
        else
          bind_text(*st, 5, token_digest);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("creating tenant");
        auto t = tenant_by_name(db, name, now);
        if (t) a.tenant_id = t->id;
        return t;
      },
      audit);
}

namespace {
// All tenants with their usage at `now`, by id.
Result<std::vector<Tenant>> all_tenants(Db& db, std::int64_t now) {
  auto st = db.prepare(kAll.c_str());
  if (!st) return st.error();
  sqlite3_bind_int64(*st, 1, now);
  std::vector<Tenant> out;
  int rc;
  while ((rc = sqlite3_step(*st)) == SQLITE_ROW) out.push_back(read_tenant(*st));
  sqlite3_reset(*st);
  if (rc != SQLITE_DONE) return db.error("listing tenants");
  return out;
}
}  // namespace

Result<std::vector<Tenant>> Store::list_tenants(std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  return all_tenants(*r.db, now);
}

Result<std::int64_t> Store::state_version() {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  return read_state_version(*r.db);
}

Result<TenantListing> Store::list_tenants_versioned(std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  // One read transaction: the version, the rows and the next expiry describe the same snapshot.
  if (auto b = r.db->exec("BEGIN"); !b) return b.error();
  auto listing = [&]() -> Result<TenantListing> {
    TenantListing out;
    auto v = read_state_version(*r.db);
    if (!v) return v.error();
    out.version = *v;
    auto tenants = all_tenants(*r.db, now);
    if (!tenants) return tenants.error();
    out.tenants = std::move(*tenants);
    auto ex = r.db->prepare(
        "SELECT MIN(expires_at) FROM leases WHERE state = 'active' AND expires_at > ?1");
    if (!ex) return ex.error();
    sqlite3_bind_int64(*ex, 1, now);
    if (sqlite3_step(*ex) == SQLITE_ROW && sqlite3_column_type(*ex, 0) != SQLITE_NULL)
      out.next_expiry = sqlite3_column_int64(*ex, 0);
    sqlite3_reset(*ex);
    return out;
  }();
  (void)r.db->exec("COMMIT");
  return listing;
}

Result<Tenant> Store::get_tenant(const std::string& name, std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  return tenant_by_name(*r.db, name, now);
}

Result<Tenant> Store::resolve_tenant(const std::string& arg, std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  Result<std::optional<Tenant>> t = std::optional<Tenant>{};
  if (all_digits(arg)) {
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(arg.c_str(), &end, 10);
    if (errno == 0 && v <= static_cast<unsigned long long>(INT64_MAX))
      t = find_tenant(*r.db, kById.c_str(), now, nullptr, static_cast<std::int64_t>(v));
  } else {
    t = find_tenant(*r.db, kByName.c_str(), now, &arg, 0);
  }
  if (!t) return t.error();
  if (!*t) return make_error(Errc::tenant_not_found, "No tenant matched '" + arg + "'");
  return std::move(**t);
}

Result<Tenant> Store::set_quota(const std::string& name, std::uint64_t mem, std::uint64_t cpu,
                                bool force, std::int64_t now, const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        auto t = tenant_by_name(db, name, now);
        if (!t) return t.error();
        a.tenant_id = t->id;
        if (!force && ((mem != 0 && mem < t->usage_mem) || (cpu != 0 && cpu < t->usage_cpu)))
          return wire(Errc::conflict, "quota_below_usage",
                      "requested quota (mem " + std::to_string(mem) + ", cpu " +
                          std::to_string(cpu) + ") is below tenant '" + name +
                          "' current usage (mem " + std::to_string(t->usage_mem) + ", cpu " +
                          std::to_string(t->usage_cpu) + "); pass force to set it anyway");
        auto st = db.prepare("UPDATE tenants SET quota_mem = ?, quota_cpu = ? WHERE id = ?");
        if (!st) return st.error();
        sqlite3_bind_int64(*st, 1, static_cast<std::int64_t>(mem));
        sqlite3_bind_int64(*st, 2, static_cast<std::int64_t>(cpu));
        sqlite3_bind_int64(*st, 3, t->id);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("setting quota");
        return tenant_by_name(db, name, now);
      },
      audit);
}

Result<std::int64_t> Store::delete_tenant(const std::string& name, bool force, std::int64_t now,
                                          const AuditEntry& audit) {
  return write_tx<std::int64_t>(
      [&](Db& db, AuditEntry& a) -> Result<std::int64_t> {
        auto t = tenant_by_name(db, name, now);
        if (!t) return t.error();
        a.tenant_id = t->id;
        auto cnt = db.prepare(
            "SELECT COUNT(*) FROM leases WHERE tenant_id = ? AND state = 'active' AND "
            "expires_at > ?");
        if (!cnt) return cnt.error();
        sqlite3_bind_int64(*cnt, 1, t->id);
        sqlite3_bind_int64(*cnt, 2, now);
        std::int64_t active = 0;
        if (sqlite3_step(*cnt) == SQLITE_ROW) active = sqlite3_column_int64(*cnt, 0);
        sqlite3_reset(*cnt);
        if (active > 0 && !force)
          return wire(Errc::conflict, "tenant_has_active_leases",
                      "tenant '" + name + "' has " + std::to_string(active) +
                          " active lease(s); release them or wait for expiry, or pass force to "
                          "release them");
        auto rel = db.prepare(
            "UPDATE leases SET state = 'released' WHERE tenant_id = ? AND state = 'active'");
        if (!rel) return rel.error();
        sqlite3_bind_int64(*rel, 1, t->id);
        if (sqlite3_step(*rel) != SQLITE_DONE) return db.error("releasing leases");
        auto del = db.prepare("DELETE FROM tenants WHERE id = ?");
        if (!del) return del.error();
        sqlite3_bind_int64(*del, 1, t->id);
        if (sqlite3_step(*del) != SQLITE_DONE) return db.error("deleting tenant");
        a.detail = "released " + std::to_string(active) + " lease(s)";
        return active;
      },
      audit);
}

Result<Tenant> Store::set_tenant_status(std::int64_t id, const std::string& status,
                                        std::int64_t now, const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        a.tenant_id = id;
        auto st = db.prepare("UPDATE tenants SET status = ? WHERE id = ?");
        if (!st) return st.error();
        bind_text(*st, 1, status);
        sqlite3_bind_int64(*st, 2, id);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("setting tenant status");
        auto t = find_tenant(db, kById.c_str(), now, nullptr, id);
        if (!t) return t.error();
        if (!*t)
          return wire(Errc::tenant_not_found, "not_found",
                      "no tenant with id " + std::to_string(id));
        return std::move(**t);
      },
      audit);
}

// ---- tokens ----

Result<std::int64_t> Store::create_admin_token(const std::string& name, const std::string& role,
                                               const std::string& digest, std::int64_t now,
                                               const AuditEntry& audit) {
  return write_tx<std::int64_t>(
      [&](Db& db, AuditEntry&) -> Result<std::int64_t> {
        auto chk = db.prepare("SELECT id FROM admin_tokens WHERE name = ?");
        if (!chk) return chk.error();
        bind_text(*chk, 1, name);
        bool exists = sqlite3_step(*chk) == SQLITE_ROW;
        sqlite3_reset(*chk);
        if (exists)
          return wire(Errc::exists, "token_exists", "an admin token named '" + name + "' exists");
        auto st = db.prepare(
            "INSERT INTO admin_tokens(name, role, created_at, token_digest) VALUES(?,?,?,?)");
        if (!st) return st.error();
        bind_text(*st, 1, name);
        bind_text(*st, 2, role);
        sqlite3_bind_int64(*st, 3, now);
        bind_text(*st, 4, digest);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("creating admin token");
        return sqlite3_last_insert_rowid(db.handle());
      },
      audit);
}

Result<std::optional<TokenOwner>> Store::find_token(const std::string& digest) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  auto st =
      r.db->prepare("SELECT id, name, status, token_digest FROM tenants WHERE token_digest = ?");
  if (!st) return st.error();
  bind_text(*st, 1, digest);
  std::optional<TokenOwner> out;
  if (sqlite3_step(*st) == SQLITE_ROW) {
    TokenOwner o;
    o.kind = TokenOwner::Kind::tenant;
    o.id = sqlite3_column_int64(*st, 0);
    o.name = col_text(*st, 1);
    o.status = col_text(*st, 2);
    o.role = "tenant";
    o.digest = col_text(*st, 3);
    out = std::move(o);
  }
  sqlite3_reset(*st);
  if (out) return out;
  auto st2 = r.db->prepare(
      "SELECT id, name, status, token_digest, role FROM admin_tokens WHERE token_digest = ?");
  if (!st2) return st2.error();
  bind_text(*st2, 1, digest);
  if (sqlite3_step(*st2) == SQLITE_ROW) {
    TokenOwner o;
    o.kind = TokenOwner::Kind::admin;
    o.id = sqlite3_column_int64(*st2, 0);
    o.name = col_text(*st2, 1);
    o.status = col_text(*st2, 2);
    o.digest = col_text(*st2, 3);
    o.role = col_text(*st2, 4);
    out = std::move(o);
  }
  sqlite3_reset(*st2);
  return out;
}

// ---- leases ----

namespace {
Result<std::optional<Lease>> find_lease(Db& db, const std::string& id) {
  static const std::string sql = std::string(kLeaseCols) + "WHERE lease_id = ?";
  auto st = db.prepare(sql.c_str());
  if (!st) return st.error();
  bind_text(*st, 1, id);
  std::optional<Lease> out;
  if (sqlite3_step(*st) == SQLITE_ROW) out = read_lease(*st);
  sqlite3_reset(*st);
  return out;
}
Result<Lease> lease_or_404(Db& db, const std::string& id) {
  auto l = find_lease(db, id);
  if (!l) return l.error();
  if (!*l) return wire(Errc::lease_not_found, "not_found", "no lease " + id);
  return std::move(**l);
}
}  // namespace

Result<Lease> Store::mint_lease(const std::string& tenant, std::uint64_t mem, std::uint64_t cpu,
                                std::int64_t ttl, const std::string& holder,
                                const std::string& node_id, std::int64_t now,
                                const AuditEntry& audit) {
  return write_tx<Lease>(
      [&](Db& db, AuditEntry& a) -> Result<Lease> {
        auto t = tenant_by_name(db, tenant, now);
        if (!t) return t.error();
        a.tenant_id = t->id;
        if (t->status != "active")
          return wire(Errc::forbidden, "forbidden", "tenant '" + tenant + "' is disabled");
        if ((t->quota_mem != 0 && t->usage_mem + mem > t->quota_mem) ||
            (t->quota_cpu != 0 && t->usage_cpu + cpu > t->quota_cpu))
          return wire(Errc::conflict, "quota_exceeded",
                      "lease (mem " + std::to_string(mem) + ", cpu " + std::to_string(cpu) +
                          ") would exceed tenant '" + tenant + "' quota (mem " +
                          std::to_string(t->quota_mem) + ", cpu " + std::to_string(t->quota_cpu) +
                          "; in use mem " + std::to_string(t->usage_mem) + ", cpu " +
                          std::to_string(t->usage_cpu) + ")");
        unsigned char rnd[8];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
          return make_error(Errc::crypto, "RAND_bytes failed for a lease id");
        Lease l;
        l.lease_id = to_hex(std::span<const unsigned char>(rnd, sizeof rnd));
        l.tenant_id = t->id;
        l.tenant = tenant;
        l.node_id = node_id;
        l.resource_kind = mem > 0 ? "mem" : "cpu";
        l.mem = mem;
        l.cpu = cpu;
        l.holder = holder;
        l.state = "active";
        l.created_at = now;
        l.expires_at = now + ttl;
        auto st = db.prepare(
            "INSERT INTO leases(lease_id, tenant_id, tenant, node_id, resource_kind, mem, cpu,"
            " holder, state, created_at, expires_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
        if (!st) return st.error();
        bind_text(*st, 1, l.lease_id);
        sqlite3_bind_int64(*st, 2, l.tenant_id);
        bind_text(*st, 3, l.tenant);
        bind_text(*st, 4, l.node_id);
        bind_text(*st, 5, l.resource_kind);
        sqlite3_bind_int64(*st, 6, static_cast<std::int64_t>(mem));
        sqlite3_bind_int64(*st, 7, static_cast<std::int64_t>(cpu));
        bind_text(*st, 8, l.holder);
        bind_text(*st, 9, l.state);
        sqlite3_bind_int64(*st, 10, l.created_at);
        sqlite3_bind_int64(*st, 11, l.expires_at);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("minting lease");
        a.detail = "lease " + l.lease_id;
        return l;
      },
      audit);
}

Result<Lease> Store::get_lease(const std::string& lease_id) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  return lease_or_404(*r.db, lease_id);
}

Result<Lease> Store::release_lease(const std::string& lease_id, std::int64_t now,
                                   const AuditEntry& audit) {
  (void)now;
  return write_tx<Lease>(
      [&](Db& db, AuditEntry& a) -> Result<Lease> {
        auto l = lease_or_404(db, lease_id);
        if (!l) return l.error();
        a.tenant_id = l->tenant_id;
        if (l->state != "active")
          return wire(Errc::conflict, "not_active",
                      "lease " + lease_id + " is " + l->state + ", not active");
        auto st = db.prepare("UPDATE leases SET state = 'released' WHERE lease_id = ?");
        if (!st) return st.error();
        bind_text(*st, 1, lease_id);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("releasing lease");
        l->state = "released";
        return l;
      },
      audit);
}

Result<FencedLease> Store::fence_lease(const std::string& lease_id, const std::string& reason,
                                       std::int64_t now, const AuditEntry& audit) {
  return write_tx<FencedLease>(
      [&](Db& db, AuditEntry& a) -> Result<FencedLease> {
        auto l = lease_or_404(db, lease_id);
        if (!l) return l.error();
        a.tenant_id = l->tenant_id;
        if (l->state != "active")
          return wire(Errc::conflict, "not_active",
                      "lease " + lease_id + " is " + l->state +
                          ", only an active lease can be "
                          "fenced");
        auto st = db.prepare("UPDATE leases SET state = 'fenced' WHERE lease_id = ?");
        if (!st) return st.error();
        bind_text(*st, 1, lease_id);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("fencing lease");
        auto f =
            db.prepare("INSERT OR REPLACE INTO fences(lease_id, reason, fenced_at) VALUES(?,?,?)");
        if (!f) return f.error();
        bind_text(*f, 1, lease_id);
        bind_text(*f, 2, reason);
        sqlite3_bind_int64(*f, 3, now);
        if (sqlite3_step(*f) != SQLITE_DONE) return db.error("recording fence");
        return fenced_from(*l, reason, now);
      },
      audit);
}

Result<FencedLease> Store::unfence_lease(const std::string& lease_id, std::int64_t now,
                                         const AuditEntry& audit) {
  (void)now;
  return write_tx<FencedLease>(
      [&](Db& db, AuditEntry& a) -> Result<FencedLease> {
        auto l = lease_or_404(db, lease_id);
        if (!l) return l.error();
        a.tenant_id = l->tenant_id;
        auto f = db.prepare("SELECT reason, fenced_at FROM fences WHERE lease_id = ?");
        if (!f) return f.error();
        bind_text(*f, 1, lease_id);
        std::string reason;
        std::int64_t at = 0;
        bool fenced = sqlite3_step(*f) == SQLITE_ROW;
        if (fenced) {
          reason = col_text(*f, 0);
          at = sqlite3_column_int64(*f, 1);
        }
        sqlite3_reset(*f);
        if (!fenced || l->state != "fenced")
          return wire(Errc::conflict, "not_fenced",
                      "lease " + lease_id + " is not fenced (state " + l->state + ")");
        auto d = db.prepare("DELETE FROM fences WHERE lease_id = ?");
        if (!d) return d.error();
        bind_text(*d, 1, lease_id);
        if (sqlite3_step(*d) != SQLITE_DONE) return db.error("clearing fence");
        auto st = db.prepare("UPDATE leases SET state = 'released' WHERE lease_id = ?");
        if (!st) return st.error();
        bind_text(*st, 1, lease_id);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("releasing lease");
        a.detail = "released " + lease_id;
        return fenced_from(*l, reason, at);
      },
      audit);
}

Result<std::vector<FencedLease>> Store::list_fenced() {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  auto st = r.db->prepare(
      "SELECT l.lease_id, l.tenant_id, l.tenant, l.node_id, l.resource_kind, l.mem, l.cpu,"
      " l.holder, l.state, l.created_at, l.expires_at, f.reason, f.fenced_at"
      " FROM fences f JOIN leases l ON l.lease_id = f.lease_id ORDER BY f.fenced_at DESC,"
      " l.lease_id");
  if (!st) return st.error();
  std::vector<FencedLease> out;
  while (sqlite3_step(*st) == SQLITE_ROW)
    out.push_back(fenced_from(read_lease(*st), col_text(*st, 11), sqlite3_column_int64(*st, 12)));
  sqlite3_reset(*st);
  return out;
}

// ---- cells ----

Result<Cell> Store::register_cell(const std::string& provider, const std::string& cell_id,
                                  std::int64_t now, const AuditEntry& audit) {
  return write_tx<Cell>(
      [&](Db& db, AuditEntry&) -> Result<Cell> {
        auto st = db.prepare(
            "INSERT INTO cells(provider, cell_id, registered_at, last_seen) VALUES(?1,?2,?3,?3)"
            " ON CONFLICT(provider, cell_id) DO UPDATE SET last_seen = ?3");
        if (!st) return st.error();
        bind_text(*st, 1, provider);
        bind_text(*st, 2, cell_id);
        sqlite3_bind_int64(*st, 3, now);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("registering cell");
        return Cell{provider, cell_id, now, now};
      },
      audit);
}

Result<bool> Store::cell_registered(const std::string& provider, const std::string& cell_id) {
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  auto st = r.db->prepare("SELECT 1 FROM cells WHERE provider = ? AND cell_id = ?");
  if (!st) return st.error();
  bind_text(*st, 1, provider);
  bind_text(*st, 2, cell_id);
  bool found = sqlite3_step(*st) == SQLITE_ROW;
  sqlite3_reset(*st);
  return found;
}

// ---- audit ----

Result<std::vector<AuditEntry>> Store::query_audit(const AuditFilter& f) {
  flush();
  auto r = acquire_reader();
  if (!r.db) return make_error(Errc::io, "opening a database reader");
  auto st = r.db->prepare(
      "SELECT id, time, kind, principal, tenant_id, action, outcome, detail FROM audit WHERE"
      " (?1 IS NULL OR kind IN (SELECT value FROM json_each(?1)))"
      " AND (?2 IS NULL OR tenant_id = ?2)"
      " AND (?3 = '' OR instr(principal, ?3) > 0)"
      " AND (?4 IS NULL OR outcome IN (SELECT value FROM json_each(?4)))"
      " AND (?5 IS NULL OR time >= ?5) AND (?6 IS NULL OR time <= ?6)"
      " ORDER BY time DESC, id DESC LIMIT ?7 OFFSET ?8");
  if (!st) return st.error();
  if (f.kinds.empty())
    sqlite3_bind_null(*st, 1);
  else
    bind_text(*st, 1, nlohmann::json(f.kinds).dump());
  bind_opt(*st, 2, f.tenant_id);
  bind_text(*st, 3, f.principal);
  if (f.outcomes.empty())
    sqlite3_bind_null(*st, 4);
  else
    bind_text(*st, 4, nlohmann::json(f.outcomes).dump());
  bind_opt(*st, 5, f.since);
  bind_opt(*st, 6, f.until);
  sqlite3_bind_int64(*st, 7, std::clamp<std::int64_t>(f.limit, 0, kMaxAuditLimit));
  sqlite3_bind_int64(*st, 8, std::max<std::int64_t>(f.skip, 0));
  std::vector<AuditEntry> out;
  int rc;
  while ((rc = sqlite3_step(*st)) == SQLITE_ROW) {
    AuditEntry e;
    e.id = sqlite3_column_int64(*st, 0);
    e.time = sqlite3_column_int64(*st, 1);
    e.kind = col_text(*st, 2);
    e.principal = col_text(*st, 3);
    if (sqlite3_column_type(*st, 4) != SQLITE_NULL) e.tenant_id = sqlite3_column_int64(*st, 4);
    e.action = col_text(*st, 5);
    e.outcome = col_text(*st, 6);
    e.detail = col_text(*st, 7);
    out.push_back(std::move(e));
  }
  sqlite3_reset(*st);
  if (rc != SQLITE_DONE) return r.db->error("querying audit");
  return out;
}

Result<std::string> Store::integrity_check() {
  std::lock_guard wl(write_mu_);
  auto st = writer_->prepare("PRAGMA integrity_check");
  if (!st) return st.error();
  std::string out;
  while (sqlite3_step(*st) == SQLITE_ROW) {
    if (!out.empty()) out += "; ";
    out += col_text(*st, 0);
  }
  sqlite3_reset(*st);
  return out;
}

}  // namespace grafos::registry
