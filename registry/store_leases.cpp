// Leases: mint (within quota), read, release, fence and unfence.
#include <openssl/rand.h>

#include <limits>
#include <span>

#include "registry/store.hpp"
#include "registry/store_internal.hpp"
#include "util/bytes.hpp"

namespace grafos::registry {

using admin::AuditEntry;
using admin::FencedLease;
using admin::Lease;

namespace {

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

}  // namespace

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
// Moves a lease to `state` ("released" | "fenced"; the table's CHECK refuses anything else).
Result<void> set_lease_state(Db& db, const std::string& lease_id, const char* state) {
  auto st = db.prepare("UPDATE leases SET state = ?2 WHERE lease_id = ?1");
  if (!st) return st.error();
  bind_text(*st, 1, lease_id);
  bind_text(*st, 2, state);
  if (sqlite3_step(*st) != SQLITE_DONE) return db.error("setting lease " + lease_id + " " + state);
  return ok();
}
Result<Lease> lease_or_404(Db& db, const std::string& id) {
  auto l = find_lease(db, id);
  if (!l) return l.error();
  if (!*l) return make_error(Errc::lease_not_found, "no lease " + id);
  return std::move(**l);
}
}  // namespace

Result<Lease> Store::mint_lease(const std::string& tenant, std::uint64_t mem, std::uint64_t cpu,
                                std::int64_t ttl, const std::string& holder,
                                const std::string& node_id, std::int64_t now,
                                const AuditEntry& audit) {
  return write_tx<Lease>(
      [&](Db& db, AuditEntry& a) -> Result<Lease> {
        auto t = store_detail::tenant_by_name(db, tenant, now);
        if (!t) return t.error();
        a.tenant_id = t->id;
        if (auto q = store_detail::check_quantities("lease", mem, cpu); !q)
          return std::move(q).error();
        if (ttl < 0 || ttl > std::numeric_limits<std::int64_t>::max() - now)
          return make_error(Errc::limit_exceeded,
                            "lease ttl " + std::to_string(ttl) + " is out of range");
        if (t->status != "active")
          return make_error(Errc::forbidden, "tenant '" + tenant + "' is disabled");
        if ((t->quota_mem != 0 && t->usage_mem + mem > t->quota_mem) ||
            (t->quota_cpu != 0 && t->usage_cpu + cpu > t->quota_cpu))
          return make_error(Errc::quota_exceeded,
                            "lease (mem " + std::to_string(mem) + ", cpu " + std::to_string(cpu) +
                                ") would exceed tenant '" + tenant + "' quota (mem " +
                                std::to_string(t->quota_mem) + ", cpu " +
                                std::to_string(t->quota_cpu) + "; in use mem " +
                                std::to_string(t->usage_mem) + ", cpu " +
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
  if (!r.db) return store_detail::no_reader();
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
          return make_error(Errc::lease_not_active,
                            "lease " + lease_id + " is " + l->state + ", not active");
        if (auto r = set_lease_state(db, lease_id, "released"); !r) return std::move(r).error();
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
          return make_error(Errc::lease_not_active, "lease " + lease_id + " is " + l->state +
                                                        ", only an active lease can be "
                                                        "fenced");
        if (auto r = set_lease_state(db, lease_id, "fenced"); !r) return std::move(r).error();
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
          return make_error(Errc::lease_not_fenced,
                            "lease " + lease_id + " is not fenced (state " + l->state + ")");
        auto d = db.prepare("DELETE FROM fences WHERE lease_id = ?");
        if (!d) return d.error();
        bind_text(*d, 1, lease_id);
        if (sqlite3_step(*d) != SQLITE_DONE) return db.error("clearing fence");
        if (auto r = set_lease_state(db, lease_id, "released"); !r) return std::move(r).error();
        a.detail = "released " + lease_id;
        return fenced_from(*l, reason, at);
      },
      audit);
}

Result<std::vector<FencedLease>> Store::list_fenced() {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
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

}  // namespace grafos::registry
