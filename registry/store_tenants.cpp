// Tenants: create, list (with usage), resolve, quotas, status, delete.
#include <cerrno>
#include <cstdlib>

#include "registry/auth.hpp"
#include "registry/store.hpp"
#include "registry/store_internal.hpp"
#include "util/text.hpp"

namespace grafos::registry {

using admin::AuditEntry;
using admin::Tenant;

namespace {

// Usage counts fenced leases and active leases that have not expired at ?1. sat_sum (db.cpp)
// saturates at INT64_MAX where SQLite's SUM fails with "integer overflow".
constexpr const char* kTenantCols =
    "SELECT t.id, t.name, t.status, t.quota_mem, t.quota_cpu,"
    " sat_sum(l.mem), sat_sum(l.cpu), COUNT(l.lease_id), t.created_at, t.last_used"
    " FROM tenants t LEFT JOIN leases l ON l.tenant_id = t.id AND (l.state = 'fenced' OR"
    " (l.state = 'active' AND l.expires_at > ?1)) ";

const std::string kByName = std::string(kTenantCols) + "WHERE t.name = ?2 GROUP BY t.id";
const std::string kById = std::string(kTenantCols) + "WHERE t.id = ?2 GROUP BY t.id";
const std::string kAll = std::string(kTenantCols) + "GROUP BY t.id ORDER BY t.id";

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

Result<std::int64_t> read_state_version(Db& db) {
  auto st = db.prepare("SELECT v FROM state_version WHERE id = 1");
  if (!st) return st.error();
  std::int64_t v = -1;
  if (sqlite3_step(*st) == SQLITE_ROW) v = sqlite3_column_int64(*st, 0);
  sqlite3_reset(*st);
  if (v < 0) return db.error("reading the state version");
  return v;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

namespace store_detail {

Result<std::optional<Tenant>> tenant_named(Db& db, const std::string& name, std::int64_t now) {
  return find_tenant(db, kByName.c_str(), now, &name, 0);
}

Result<std::optional<Tenant>> tenant_with_id(Db& db, std::int64_t id, std::int64_t now) {
  return find_tenant(db, kById.c_str(), now, nullptr, id);
}

Result<Tenant> tenant_by_name(Db& db, const std::string& name, std::int64_t now) {
  auto t = tenant_named(db, name, now);
  if (!t) return t.error();
  if (!*t) return make_error(Errc::tenant_not_found, "no tenant named '" + name + "'");
  return std::move(**t);
}

}  // namespace store_detail

using store_detail::tenant_by_name;

Result<void> check_tenant_name(const std::string& name, const char* what) {
  if (valid_tenant_name(name)) return ok();
  return make_error(Errc::bad_name, std::string(what) + " name '" +
                                        escape_text(name.substr(0, 80), Backslash::escape) +
                                        "' must be 1-63 characters of [A-Za-z0-9._-] starting "
                                        "with a letter or digit");
}

Result<ProvisionedTenant> provision_tenant(const std::string& db_path, const TenantRequest& req,
                                           std::int64_t now, const AuditEntry& audit) {
  // Checked before the database is opened: a refused name or quota creates no file.
  if (auto n = check_tenant_name(req.name); !n) return std::move(n).error();
  if (auto q = store_detail::check_quantities("quota", req.quota_mem, req.quota_cpu); !q)
    return std::move(q).error();
  auto store = Store::open(db_path, true);
  if (!store) return store.error();
  auto token = generate_token("gfr_");
  if (!token) return token.error();
  auto t = (*store)->create_tenant(req.name, req.quota_mem, req.quota_cpu,
                                   token_digest(token->view()), now, audit);
  if (!t) return t.error();
  return ProvisionedTenant{std::move(*t), std::move(*token)};
}

Result<ProvisionedTenant> reissue_tenant_token(const std::string& db_path,
                                               const std::string& id_or_name, std::int64_t now,
                                               const AuditEntry& audit) {
  auto store = Store::open(db_path, false);  // an existing database only: no tenant, no token
  if (!store) return store.error();
  auto t = (*store)->resolve_tenant(id_or_name, now);
  if (!t) return t.error();
  auto token = generate_token("gfr_");
  if (!token) return token.error();
  auto updated = (*store)->set_tenant_token(t->id, token_digest(token->view()), now, audit);
  if (!updated) return updated.error();
  return ProvisionedTenant{std::move(*updated), std::move(*token)};
}

namespace {

// Runs `sql` (one text column, then the tenant id) and reads the tenant back.
// Errc::tenant_not_found when no tenant has that id.
Result<Tenant> update_tenant_text(Db& db, const char* sql, const std::string& value,
                                  std::int64_t id, std::int64_t now, const char* what) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  bind_text(*st, 1, value);
  sqlite3_bind_int64(*st, 2, id);
  if (sqlite3_step(*st) != SQLITE_DONE) return db.error(what);
  auto t = store_detail::tenant_with_id(db, id, now);
  if (!t) return t.error();
  if (!*t) return make_error(Errc::tenant_not_found, "no tenant with id " + std::to_string(id));
  return std::move(**t);
}

}  // namespace

Result<Tenant> Store::set_tenant_token(std::int64_t id, const std::string& digest, std::int64_t now,
                                       const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        a.tenant_id = id;
        return update_tenant_text(db, "UPDATE tenants SET token_digest = ? WHERE id = ?", digest,
                                  id, now, "setting the tenant's token");
      },
      audit);
}

Result<Tenant> Store::create_tenant(const std::string& name, std::uint64_t quota_mem,
                                    std::uint64_t quota_cpu, const std::string& token_digest,
                                    std::int64_t now, const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        if (auto n = check_tenant_name(name); !n) return std::move(n).error();
        if (auto q = store_detail::check_quantities("quota", quota_mem, quota_cpu); !q)
          return std::move(q).error();
        auto existing = store_detail::tenant_named(db, name, now);
        if (!existing) return existing.error();
        if (*existing)
          return make_error(Errc::tenant_exists, "tenant '" + name + "' already exists (id " +
                                                     std::to_string((*existing)->id) + ")");
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

Result<std::vector<Tenant>> Store::list_tenants(std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  return all_tenants(*r.db, now);
}

Result<std::int64_t> Store::state_version() {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  return read_state_version(*r.db);
}

Result<TenantListing> Store::list_tenants_versioned(std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
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
  if (!r.db) return store_detail::no_reader();
  return tenant_by_name(*r.db, name, now);
}

Result<Tenant> Store::resolve_tenant(const std::string& arg, std::int64_t now) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  Result<std::optional<Tenant>> t = std::optional<Tenant>{};
  if (all_digits(arg)) {
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(arg.c_str(), &end, 10);
    if (errno == 0 && v <= static_cast<unsigned long long>(INT64_MAX))
      t = store_detail::tenant_with_id(*r.db, static_cast<std::int64_t>(v), now);
  } else {
    t = store_detail::tenant_named(*r.db, arg, now);
  }
  if (!t) return t.error();
  if (!*t) return make_error(Errc::tenant_not_found, "No tenant matched '" + arg + "'");
  return std::move(**t);
}

Result<Tenant> Store::set_quota(const std::string& name, std::uint64_t mem, std::uint64_t cpu,
                                bool force, std::int64_t now, const AuditEntry& audit) {
  return update_quota(name, mem, cpu, force, now, audit);
}

Result<Tenant> Store::update_quota(const std::string& name, std::optional<std::uint64_t> mem_in,
                                   std::optional<std::uint64_t> cpu_in, bool force,
                                   std::int64_t now, const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        auto t = tenant_by_name(db, name, now);
        if (!t) return t.error();
        a.tenant_id = t->id;
        if (!mem_in && !cpu_in)
          return make_error(Errc::bad_request,
                            "no quota to change for tenant '" + name + "': give mem, cpu or both");
        // An absent quota keeps its current value: a partial update never resets the other one.
        std::uint64_t mem = mem_in.value_or(t->quota_mem);
        std::uint64_t cpu = cpu_in.value_or(t->quota_cpu);
        if (auto q = store_detail::check_quantities("quota", mem, cpu); !q)
          return std::move(q).error();
        bool mem_below = mem_in && mem != 0 && mem < t->usage_mem;
        bool cpu_below = cpu_in && cpu != 0 && cpu < t->usage_cpu;
        if (!force && (mem_below || cpu_below))
          return make_error(Errc::quota_below_usage,
                            "requested quota (mem " + std::to_string(mem) + ", cpu " +
                                std::to_string(cpu) + ") is below tenant '" + name +
                                "' current usage (mem " + std::to_string(t->usage_mem) + ", cpu " +
                                std::to_string(t->usage_cpu) + ")");
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
          return make_error(Errc::tenant_has_active_leases,
                            "tenant '" + name + "' has " + std::to_string(active) +
                                (active == 1 ? " active lease" : " active leases"));
        auto rel = db.prepare(
            "UPDATE leases SET state = 'released' WHERE tenant_id = ? AND state = 'active'");
        if (!rel) return rel.error();
        sqlite3_bind_int64(*rel, 1, t->id);
        if (sqlite3_step(*rel) != SQLITE_DONE) return db.error("releasing leases");
        auto del = db.prepare("DELETE FROM tenants WHERE id = ?");
        if (!del) return del.error();
        sqlite3_bind_int64(*del, 1, t->id);
        if (sqlite3_step(*del) != SQLITE_DONE) return db.error("deleting tenant");
        a.detail = "released " + std::to_string(active) + (active == 1 ? " lease" : " leases");
        return active;
      },
      audit);
}

Result<Tenant> Store::set_tenant_status(std::int64_t id, const std::string& status,
                                        std::int64_t now, const AuditEntry& audit) {
  return write_tx<Tenant>(
      [&](Db& db, AuditEntry& a) -> Result<Tenant> {
        a.tenant_id = id;
        return update_tenant_text(db, "UPDATE tenants SET status = ? WHERE id = ?", status, id, now,
                                  "setting tenant status");
      },
      audit);
}

}  // namespace grafos::registry
