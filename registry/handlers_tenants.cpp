// Tenants: create, list (the hot read, cached per store state), set quota, delete.
#include <memory>
#include <mutex>
#include <optional>

#include "registry/router.hpp"

namespace grafos::registry {
namespace {

// GET /tenants is the hot read: serialise without building a json tree (same bytes as
// json{{"tenants", ts}}.dump(): keys in nlohmann's sorted order, strings escaped by nlohmann).
std::string tenants_json(const std::vector<admin::Tenant>& ts) {
  std::string out;
  out.reserve(64 + ts.size() * 170);
  out += "{\"tenants\":[";
  bool first = true;
  for (auto& t : ts) {
    if (!first) out += ',';
    first = false;
    out += "{\"active_leases\":" + std::to_string(t.active_leases);
    out += ",\"created_at\":" + std::to_string(t.created_at);
    out += ",\"id\":" + std::to_string(t.id);
    out += ",\"last_used\":" + (t.last_used ? std::to_string(*t.last_used) : std::string("null"));
    out += ",\"name\":" + to_json_text(json(t.name));
    out += ",\"quota_cpu\":" + std::to_string(t.quota_cpu);
    out += ",\"quota_mem\":" + std::to_string(t.quota_mem);
    out += ",\"status\":" + to_json_text(json(t.status));
    out += ",\"usage_cpu\":" + std::to_string(t.usage_cpu);
    out += ",\"usage_mem\":" + std::to_string(t.usage_mem) + "}";
  }
  out += "]}";
  return out;
}

// The tenant list as of one database state, rendered once for every caller who may see it all.
struct TenantsSnapshot {
  std::int64_t version = 0;                 ///< Store::state_version() of the rows
  std::int64_t taken_at = 0;                ///< the `now` usage was computed for
  std::optional<std::int64_t> next_expiry;  ///< usage changes then without a write
  std::vector<admin::Tenant> tenants;
  std::string json;  ///< tenants_json(tenants)

  /// Whether these rows are what list_tenants(now) would return with the database at `version`.
  bool current(std::int64_t db_version, std::int64_t now) const {
    return version == db_version && now >= taken_at && (!next_expiry || now < *next_expiry);
  }
};

// Kept while the database's state version (bumped by triggers on every tenant or lease change,
// whichever process writes) is unchanged and no active lease has expired since; checking that is
// one single-row read instead of the aggregate query.
class TenantsCache {
 public:
  explicit TenantsCache(Store& store) : store_(store) {}

  Result<std::shared_ptr<const TenantsSnapshot>> get(std::optional<std::int64_t> known_version) {
    std::int64_t now = now_s();
    auto v = known_version ? Result<std::int64_t>(*known_version) : store_.state_version();
    if (!v) return v.error();
    {
      std::lock_guard lk(mu_);
      if (cache_ && cache_->current(*v, now)) return cache_;
    }
    auto listing = store_.list_tenants_versioned(now);
    if (!listing) return listing.error();
    auto snap = std::make_shared<TenantsSnapshot>();
    snap->version = listing->version;
    snap->taken_at = now;
    snap->next_expiry = listing->next_expiry;
    snap->tenants = std::move(listing->tenants);
    snap->json = tenants_json(snap->tenants);
    std::lock_guard lk(mu_);
    if (!cache_ || cache_->version <= snap->version) cache_ = snap;
    return std::shared_ptr<const TenantsSnapshot>(std::move(snap));
  }

 private:
  Store& store_;
  std::mutex mu_;
  std::shared_ptr<const TenantsSnapshot> cache_;
};

}  // namespace

void add_tenant_routes(Router& router, Services& s) {
  Store& store = s.store;
  auto cache = std::make_shared<TenantsCache>(store);
  // POST /tenants {"name","quota_mem"[,"quota_cpu"]}
  router.add({"POST", "/tenants", "tenant", Access::admin_write,
              [&store](const Request& req, const Principal& p) {
                auto body = parse_body(req, {"name", "quota_mem", "quota_cpu"});
                if (!body) return from_error(body.error());
                auto name = get_str(*body, "name", true);
                if (!name) return from_error(name.error());
                if (auto c = check_name(*name); !c) return from_error(c.error());
                auto mem = get_u64(*body, "quota_mem", false);
                if (!mem) return from_error(mem.error());
                auto cpu = get_u64(*body, "quota_cpu", false);
                if (!cpu) return from_error(cpu.error());
                auto t = store.create_tenant(*name, *mem, *cpu, "", now_s(),
                                             audit_for("tenant", p, req));
                Reply r = t ? ok_reply(201, json(*t)) : from_error(t.error());
                r.audited = true;
                return r;
              }});
  router.add(
      {"GET", "/tenants", "tenant", Access::read, [cache](const Request&, const Principal& p) {
         auto snap = cache->get(p.state_version);
         if (!snap) return from_error(snap.error());
         Reply r;
         if (p.role == Role::tenant) {
           std::vector<admin::Tenant> own;
           for (const auto& t : (*snap)->tenants)
             if (t.name == p.tenant) own.push_back(t);
           r.raw = tenants_json(own);
         } else {
           r.raw = (*snap)->json;
         }
         return r;
       }});
  router.add({"POST", "/tenants/*/quota", "tenant", Access::admin_write,
              [&store](const Request& req, const Principal& p) {
                const std::string& name = req.matches[0];
                if (auto c = check_name(name); !c) return from_error(c.error());
                auto body = parse_body(req, {"mem", "cpu", "force"});
                if (!body) return from_error(body.error());
                // A field that is absent (or null) leaves that quota unchanged; 0 is unlimited.
                auto given = [&](const char* k) -> Result<std::optional<std::uint64_t>> {
                  auto it = body->find(k);
                  if (it == body->end() || it->is_null()) return std::optional<std::uint64_t>{};
                  auto v = get_u64(*body, k, true);
                  if (!v) return v.error();
                  return std::optional<std::uint64_t>(*v);
                };
                auto mem = given("mem");
                if (!mem) return from_error(mem.error());
                auto cpu = given("cpu");
                if (!cpu) return from_error(cpu.error());
                auto force = get_bool(*body, "force");
                if (!force) return from_error(force.error());
                auto t = store.update_quota(name, *mem, *cpu, *force, now_s(),
                                            audit_for("tenant", p, req));
                Reply r = t ? ok_reply(200, json(*t)) : from_error(t.error());
                r.audited = true;
                return r;
              }});
  router.add({"DELETE", "/tenants/*", "tenant", Access::admin_write,
              [&store](const Request& req, const Principal& p) {
                const std::string& name = req.matches[0];
                if (auto c = check_name(name); !c) return from_error(c.error());
                auto force = parse_flag(req, "force");
                if (!force) return from_error(force.error());
                auto n = store.delete_tenant(name, *force, now_s(), audit_for("tenant", p, req));
                Reply r = n ? ok_reply(200, json{{"deleted", name}, {"released_leases", *n}})
                            : from_error(n.error());
                r.audited = true;
                return r;
              }});
}

}  // namespace grafos::registry
