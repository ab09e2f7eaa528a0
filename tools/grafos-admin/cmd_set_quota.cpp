// grafos-admin set-quota: POST /api/v1/tenants/{name}/quota.
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
  std::string tenant;
  std::uint64_t mem = 0;
  std::uint64_t cpu = 0;
  bool force = false;
};
}  // namespace

void add_set_quota(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "set-quota",
      "Set or update resource quotas for a tenant (0 = unlimited).\nExample: grafos-admin "
      "set-quota --scheduler https://localhost:9100 \\\n  --tenant acme --mem 2147483648 --cpu 4");
  add_global_options(*sub, ctx.global);
  add_connection_options(
      *sub, o->conn, "Scheduler URL",
      "FabricAdmin bearer token (required under mtls+token for POST /tenants/{name}/quota)");
  sub->add_option("--tenant", o->tenant, "Tenant name")->required();
  sub->add_option("--mem", o->mem, "Memory quota in bytes")->capture_default_str();
  sub->add_option("--cpu", o->cpu, "CPU quota in cores")->capture_default_str();
  sub->add_flag("--force", o->force,
                "set the quota even if the requested value is below the tenant's current usage. "
                "Existing leases are NOT revoked; only new admissions are blocked until usage "
                "drops back under the cap. Without `--force`, the cell-scheduler refuses with "
                "HTTP 409 `quota_below_usage`");
  sub->callback([o, &ctx] {
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::set_quota(*client, o->tenant, o->mem, o->cpu, o->force);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    auto rows = admin::tenant_rows(nlohmann::json::array({r->json}), ctx.global.wide);
    if (!rows) return fail(ctx, rows.error());
    print_table(ctx, *rows, ctx.global.wide ? 2 : 1);
  });
}

}  // namespace grafos::tools::admin_cli
