// Leases: mint, release, fence, unfence.
#include "registry/router.hpp"

namespace grafos::registry {

void add_lease_routes(Router& router, Services& s) {
  Store& store = s.store;
  const ServerConfig& cfg = s.cfg;
  router.add({"POST", "/tenants/*/leases", "lease", Access::lease,
              [&store, &cfg](const Request& req, const Principal& p) {
                const std::string& name = req.matches[0];
                if (auto c = check_name(name); !c) return from_error(c.error());
                if (p.role == Role::tenant && p.tenant != name)
                  return from_error(make_error(
                      Errc::forbidden, "tenant '" + p.tenant + "' may only mint its own leases"));
                auto body = parse_body(req, {"mem", "cpu", "ttl_seconds"});
                if (!body) return from_error(body.error());
                auto mem = get_u64(*body, "mem", false);
                if (!mem) return from_error(mem.error());
                auto cpu = get_u64(*body, "cpu", false);
                if (!cpu) return from_error(cpu.error());
                auto ttl = get_u64(*body, "ttl_seconds", false, 3600);
                if (!ttl) return from_error(ttl.error());
                if (*mem == 0 && *cpu == 0)
                  return from_error(
                      make_error(Errc::bad_request, "a lease needs mem or cpu greater than 0"));
                if (*ttl == 0 || *ttl > 366ull * 86400)
                  return from_error(
                      make_error(Errc::bad_request, "ttl_seconds must be 1..31622400"));
                auto l = store.mint_lease(name, *mem, *cpu, static_cast<std::int64_t>(*ttl), p.name,
                                          cfg.node_id, now_s(), audit_for("lease", p, req));
                Reply r = l ? ok_reply(201, json(*l)) : from_error(l.error());
                r.audited = true;
                return r;
              }});
  router.add({"POST", "/leases/*/release", "lease", Access::lease,
              [&store](const Request& req, const Principal& p) {
                auto id = canonical_lease_id(req.matches[0]);
                if (!id) return from_error(id.error());
                if (auto b = parse_body(req, {}); !b) return from_error(b.error());
                if (p.role == Role::tenant) {
                  auto l = store.get_lease(*id);
                  if (!l) return from_error(l.error());
                  if (l->tenant != p.tenant)
                    return from_error(
                        make_error(Errc::forbidden, "lease " + *id + " belongs to another tenant"));
                }
                auto l = store.release_lease(*id, now_s(), audit_for("lease", p, req));
                Reply r = l ? ok_reply(200, json(*l)) : from_error(l.error());
                r.audited = true;
                return r;
              }});
  router.add({"POST", "/admin/leases/*/fence", "lease", Access::admin_write,
              [&store](const Request& req, const Principal& p) {
                auto id = canonical_lease_id(req.matches[0]);
                if (!id) return from_error(id.error());
                auto body = parse_body(req, {"reason"});
                if (!body) return from_error(body.error());
                auto reason = get_str(*body, "reason", false);
                if (!reason) return from_error(reason.error());
                if (reason->empty()) *reason = "fenced";
                if (*reason != "fenced" && *reason != "failed" && *reason != "skipped")
                  return from_error(
                      make_error(Errc::bad_request, "reason must be fenced, failed or skipped"));
                auto f = store.fence_lease(*id, *reason, now_s(), audit_for("lease", p, req));
                Reply r = f ? ok_reply(200, json(*f)) : from_error(f.error());
                r.audited = true;
                return r;
              }});
  router.add({"POST", "/admin/fenced-leases/*/unfence", "lease", Access::admin_write,
              [&store](const Request& req, const Principal& p) {
                auto id = canonical_lease_id(req.matches[0]);
                if (!id) return from_error(id.error());
                if (auto b = parse_body(req, {}); !b) return from_error(b.error());
                auto f = store.unfence_lease(*id, now_s(), audit_for("lease", p, req));
                Reply r = f ? ok_reply(200, json(*f)) : from_error(f.error());
                r.audited = true;
                return r;
              }});
}

}  // namespace grafos::registry
