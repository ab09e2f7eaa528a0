// Cells: register, poll for work, complete work.
#include "registry/router.hpp"

namespace grafos::registry {

void add_cell_routes(Router& router, Services& s) {
  Store& store = s.store;
  router.add({"POST", "/cells/register", "cell", Access::cell,
              [&store](const Request& req, const Principal& p) {
                if (auto b = parse_body(req, {}); !b) return from_error(b.error());
                auto c =
                    store.register_cell(p.provider, p.cell_id, now_s(), audit_for("cell", p, req));
                Reply r = c ? ok_reply(200, json{{"provider", c->provider},
                                                 {"cell_id", c->cell_id},
                                                 {"registered_at", c->registered_at}})
                            : from_error(c.error());
                r.audited = true;
                return r;
              }});
  router.add({"GET", "/cells/work/poll", "cell", Access::cell,
              [&store](const Request&, const Principal& p) {
                auto reg = store.cell_registered(p.provider, p.cell_id);
                if (!reg) return from_error(reg.error());
                if (!*reg)
                  return from_error(make_error(Errc::cell_not_registered,
                                               "cell " + p.provider + ":" + p.cell_id +
                                                   " is not registered; POST /cells/register "
                                                   "first"));
                return ok_reply(200, json{{"work", json::array()}, {"poll_after_seconds", 30}});
              }});
  router.add({"POST", "/cells/work/complete", "cell", Access::cell,
              [](const Request& req, const Principal&) {
                auto body = parse_body(req, {"work_id", "result"});
                if (!body) return from_error(body.error());
                auto id = get_str(*body, "work_id", true);
                if (!id) return from_error(id.error());
                return from_error(make_error(Errc::remote_not_found, "no outstanding work item '" +
                                                                         id->substr(0, 64) + "'"));
              }});
}

}  // namespace grafos::registry
