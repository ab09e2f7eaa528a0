// grafos-admin list-tenants: GET /api/v1/tenants.
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
};
}  // namespace

void add_list_tenants(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "list-tenants",
      "List all registered tenants with quotas and usage.\nA tenant certificate sees only its own "
      "tenant.\nExample: grafos-admin list-tenants --scheduler https://localhost:9100 --wide");
  add_global_options(*sub, ctx.global);
  add_connection_options(*sub, o->conn, "Scheduler URL",
                         "FabricAdmin bearer token (optional; GET /tenants is read-only)");
  sub->callback([o, &ctx] {
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::list_tenants(*client);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    auto rows = admin::tenant_rows(
        r->json.is_object() ? r->json.value("tenants", nlohmann::json()) : nlohmann::json(),
        ctx.global.wide);
    if (!rows) return fail(ctx, rows.error());
    print_table(ctx, *rows, ctx.global.wide ? 2 : 1);
  });
}

}  // namespace grafos::tools::admin_cli
