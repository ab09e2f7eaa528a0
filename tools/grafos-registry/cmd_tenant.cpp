#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "registry/store.hpp"
#include "tools/grafos-registry/commands.hpp"

namespace grafos::tools::registry {
namespace {

namespace reg = grafos::registry;

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

admin::AuditEntry cli_audit(const std::string& action) {
  admin::AuditEntry e;
  e.time = now_s();
  e.kind = "token";
  e.principal = "cli:uid=" + std::to_string(::getuid());
  e.action = action;
  return e;
}

std::string format_time(const std::optional<std::int64_t>& t) {
  if (!t) return "never";
  std::time_t tt = static_cast<std::time_t>(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

struct TenantOptions {
  std::string db;
  std::string name;
  std::uint64_t quota_mem = 0;
  std::uint64_t quota_cpu = 0;
  std::string role = "fabric-admin";
};

void tenant_add(Context& ctx, const TenantOptions& o) {
  auto p = reg::provision_tenant(o.db, {o.name, o.quota_mem, o.quota_cpu}, now_s(),
                                 cli_audit("tenant add " + o.name));
  if (!p) return ctx.fail(p.error());
  if (ctx.global.json) {
    std::cout << nlohmann::json{{"id", p->tenant.id},
                                {"name", p->tenant.name},
                                {"token", p->token.view()}}
                     .dump(2)
              << '\n';
    return;
  }
  std::cout << "Created tenant #" << p->tenant.id << " (" << p->tenant.name << ")\n\n"
            << "  API key (save this \u2014 it will not be shown again):\n"
            << "    " << p->token.view() << "\n\n"
            << "  Clients call:\n"
            << "    curl --cacert ca.pem -H \"Authorization: Bearer gfr_...\" \\\n"
            << "         https://<host>:<port>/api/v1/tenants\n";
}

void tenant_list(Context& ctx, const TenantOptions& o) {
  auto store = reg::Store::open(o.db, false);
  if (!store) return ctx.fail(store.error());
  auto ts = (*store)->list_tenants(now_s());
  if (!ts) return ctx.fail(ts.error());
  if (ctx.global.json) {
    std::cout << nlohmann::json(*ts).dump(2) << '\n';
    return;
  }
  std::cout << pad("ID", 5) << pad("Name", 20) << pad("Status", 12) << "Last used\n"
            << std::string(60, '-') << '\n';
  for (auto& t : *ts)
    std::cout << pad(std::to_string(t.id), 5) << pad(t.name, 20) << pad(t.status, 12)
              << format_time(t.last_used) << '\n';
}

void tenant_set_status(Context& ctx, const TenantOptions& o, bool enable) {
  auto store = reg::Store::open(o.db, false);
  if (!store) return ctx.fail(store.error());
  auto t = (*store)->resolve_tenant(o.name, now_s());
  if (!t) {
    ctx.fail(t.error());
    if (t.error().code == Errc::tenant_not_found) ctx.exit_code = 1;  // seed 002: exit 1
    return;
  }
  std::string status = enable ? "active" : "disabled";
  auto r = (*store)->set_tenant_status(t->id, status, now_s(),
                                       cli_audit(std::string(enable ? "tenant enable "
                                                                    : "tenant "
                                                                      "disable ") +
                                                 t->name));
  if (!r) return ctx.fail(r.error());
  if (ctx.global.json) {
    std::cout << nlohmann::json(*r).dump(2) << '\n';
    return;
  }
  std::cout << (enable ? "Enabled" : "Disabled") << " tenant '" << t->name << "'.\n";
}

void admin_token_add(Context& ctx, const TenantOptions& o) {
  auto p = reg::provision_admin_token(o.db, {o.name, o.role}, now_s(),
                                      cli_audit("admin-token add " + o.name));
  if (!p) return ctx.fail(p.error());
  if (ctx.global.json) {
    std::cout << nlohmann::json{{"id", p->id},
                                {"name", p->name},
                                {"role", p->role},
                                {"token", p->token.view()}}
                     .dump(2)
              << '\n';
    return;
  }
  // The token alone on stdout, so `admin-token add NAME --db DB > FILE` saves a file that
  // grafos-admin --bearer-file reads as is; what it is and how to use it goes to stderr.
  std::cerr << "Created admin token #" << p->id << " (" << p->name << ", " << p->role << ")\n"
            << "  The bearer token is on stdout: save it now, it will not be shown again\n"
            << "  (only its SHA-256 is stored). Use it with: grafos-admin ... --bearer-file FILE\n"
            << "  or GRAFOS_BEARER.\n";
  std::cout << p->token.view() << '\n';
}

void admin_token_list(Context& ctx, const TenantOptions& o) {
  auto store = reg::Store::open(o.db, false);
  if (!store) return ctx.fail(store.error());
  auto ts = (*store)->list_admin_tokens();
  if (!ts) return ctx.fail(ts.error());
  if (ctx.global.json) {
    auto arr = nlohmann::json::array();
    for (auto& t : *ts)
      arr.push_back({{"id", t.id},
                     {"name", t.name},
                     {"role", t.role},
                     {"status", t.status},
                     {"created_at", t.created_at},
                     {"last_used", t.last_used ? nlohmann::json(*t.last_used) : nlohmann::json()}});
    std::cout << nlohmann::json{{"admin_tokens", arr}}.dump(2) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows{
      {"ID", "NAME", "ROLE", "STATE", "CREATED", "LAST USED"}};
  for (auto& t : *ts)
    rows.push_back({std::to_string(t.id), t.name, t.role, t.status, format_time(t.created_at),
                    t.last_used ? format_time(t.last_used) : "unknown"});
  std::cout << format_table(rows);
}

void admin_token_revoke(Context& ctx, const TenantOptions& o) {
  auto store = reg::Store::open(o.db, false);
  if (!store) return ctx.fail(store.error());
  auto t = (*store)->revoke_admin_token(o.name, cli_audit("admin-token revoke " + o.name));
  if (!t) {
    ctx.fail(t.error());
    if (t.error().code == Errc::token_not_found) ctx.exit_code = 1;  // as tenant disable
    return;
  }
  if (ctx.global.json) {
    std::cout << nlohmann::json{{"id", t->id}, {"name", t->name}, {"status", t->status}}.dump(2)
              << '\n';
    return;
  }
  std::cout << "Revoked admin token #" << t->id << " (" << t->name
            << "): requests with it now get 401.\n";
}

void tenant_token(Context& ctx, const TenantOptions& o) {
  auto p = reg::reissue_tenant_token(o.db, o.name, now_s(), cli_audit("tenant token " + o.name));
  if (!p) {
    ctx.fail(p.error());
    if (p.error().code == Errc::tenant_not_found) ctx.exit_code = 1;  // seed 002: exit 1
    return;
  }
  if (ctx.global.json) {
    std::cout << nlohmann::json{{"id", p->tenant.id},
                                {"name", p->tenant.name},
                                {"token", p->token.view()}}
                     .dump(2)
              << '\n';
    return;
  }
  std::cerr << "New bearer token for tenant #" << p->tenant.id << " (" << p->tenant.name << ")\n"
            << "  The bearer token is on stdout: save it now, it will not be shown again\n"
            << "  (only its SHA-256 is stored). The tenant's previous token, if it had one,\n"
            << "  no longer works.\n";
  std::cout << p->token.view() << '\n';
}

}  // namespace

void add_tenant(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<TenantOptions>();
  auto* t = app.add_subcommand(
      "tenant",
      "Manage tenants and their bearer tokens directly in the database (the server may or may "
      "not be running). Tokens are shown once and stored only as SHA-256 digests.");
  t->require_subcommand(1);
  auto db_opt = [o](CLI::App* c) {
    c->add_option("--db", o->db, "SQLite database file")->required();
  };
  auto* add = t->add_subcommand(
      "add",
      "Provision a tenant and print a fresh bearer token (shown once; only its SHA-256 is "
      "stored). Names follow the tenant grammar and are unique.");
  add->add_option("name", o->name, "Tenant name")->required();
  add->add_option("--quota-mem", o->quota_mem, "Memory quota in bytes (0 = unlimited)");
  add->add_option("--quota-cpu", o->quota_cpu, "CPU quota in cores (0 = unlimited)");
  db_opt(add);
  add->callback([&ctx, o] { tenant_add(ctx, *o); });
  auto* list = t->add_subcommand("list", "Print the tenant table (ID, Name, Status, Last used).");
  db_opt(list);
  list->callback([&ctx, o] { tenant_list(ctx, *o); });
  const char* rules =
      "An all-digits argument is a numeric id; anything else matches the name exactly "
      "(case-sensitive). No match: exit 1 with \"No tenant matched '<arg>'\".";
  auto* dis = t->add_subcommand(
      "disable", std::string("Revoke a tenant's access: its token gets 401 on every endpoint; data "
                             "and the token digest are kept. ") +
                     rules);
  dis->add_option("tenant", o->name, "Tenant id or name")->required();
  db_opt(dis);
  dis->callback([&ctx, o] { tenant_set_status(ctx, *o, false); });
  auto* en = t->add_subcommand(
      "enable", std::string("Restore a disabled tenant; its original token works again. ") + rules);
  en->add_option("tenant", o->name, "Tenant id or name")->required();
  db_opt(en);
  en->callback([&ctx, o] { tenant_set_status(ctx, *o, true); });
  auto* tok = t->add_subcommand(
      "token",
      std::string("Mint a new bearer token for an existing tenant (for example one made with "
                  "grafos-admin create-tenant, which has none) and print it alone on stdout, "
                  "once; only its SHA-256 is stored and the tenant's previous token stops "
                  "working. ") +
          rules);
  tok->add_option("tenant", o->name, "Tenant id or name")->required();
  db_opt(tok);
  tok->callback([&ctx, o] { tenant_token(ctx, *o); });

  auto* at =
      app.add_subcommand("admin-token", "Manage FabricAdmin bearer tokens: add, list, revoke.");
  at->require_subcommand(1);
  auto* atadd = at->add_subcommand(
      "add", "Create an admin bearer token and print it once (only its SHA-256 is stored).");
  atadd->add_option("name", o->name, "Token name (for audit)")->required();
  atadd->add_option("--role", o->role, "fabric-admin | fabric-observer")
      ->check(CLI::IsMember({"fabric-admin", "fabric-observer"}))
      ->capture_default_str();
  db_opt(atadd);
  atadd->callback([&ctx, o] { admin_token_add(ctx, *o); });
  auto* atlist = at->add_subcommand(
      "list", "Print the admin tokens (ID, name, role, state, created, last used); never a token.");
  db_opt(atlist);
  atlist->callback([&ctx, o] { admin_token_list(ctx, *o); });
  auto* atrev = at->add_subcommand(
      "revoke",
      "Revoke an admin token: every later request with it gets 401 (the row is kept for the "
      "audit trail). An all-digits argument is the id; anything else matches the name exactly. "
      "No match: exit 1.");
  atrev->add_option("token", o->name, "Admin token id or name")->required();
  db_opt(atrev);
  atrev->callback([&ctx, o] { admin_token_revoke(ctx, *o); });
}

}  // namespace grafos::tools::registry
