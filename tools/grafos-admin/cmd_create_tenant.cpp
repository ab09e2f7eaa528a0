// grafos-admin create-tenant: POST /api/v1/tenants.
#include <iostream>

#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
  std::string name;
  std::uint64_t quota_mem = 0;
};
}  // namespace

void add_create_tenant(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "create-tenant",
      "Register a tenant with the scheduler.\nTenants must be pre-registered before they can "
      "deploy programs or request leases (when mTLS is enabled). Optionally set an initial memory "
      "quota.\nExample: grafos-admin create-tenant --scheduler https://localhost:9100 \\\n  --name "
      "acme --quota-mem 1073741824 --cert admin.pem --key admin-key.pem --ca ca.pem");
  add_global_options(*sub, ctx.global);
  add_connection_options(*sub, o->conn, "Scheduler URL",
                         "FabricAdmin bearer token (required under mtls+token for POST /tenants)");
  sub->add_option("--name", o->name, "Tenant name")->required();
  sub->add_option("--quota-mem", o->quota_mem, "Initial memory quota in bytes (0 = unlimited)")
      ->capture_default_str();
  sub->callback([o, &ctx] {
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::create_tenant(*client, o->name, o->quota_mem);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    auto rows = admin::tenant_rows(nlohmann::json::array({r->json}), ctx.global.wide);
    if (!rows) return fail(ctx, rows.error());
    print_table(ctx, *rows, 1);
  });
}

}  // namespace grafos::tools::admin_cli
