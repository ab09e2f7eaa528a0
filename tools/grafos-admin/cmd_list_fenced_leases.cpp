// grafos-admin list-fenced-leases: GET /api/v1/admin/fenced-leases[/all].
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
  bool all = false;
};
}  // namespace

void add_list_fenced_leases(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "list-fenced-leases",
      "list fenced leases.\nHits `/api/v1/admin/fenced-leases` against a cell-scheduler or "
      "`/api/v1/admin/fenced-leases/all` against the orchestrator (with `--all`). Each entry "
      "carries lease_id, tenant_id, node_id, resource_kind, fence_reason (fenced/failed/skipped), "
      "fenced_at, capacity, holder, and expires_at (the last ones with --wide).");
  add_global_options(*sub, ctx.global);
  add_connection_options(*sub, o->conn,
                         "Scheduler URL — orchestrator (with `--all`) or cell-scheduler",
                         "FabricAdmin bearer token (required under mtls+token)");
  sub->add_flag("--all", o->all,
                "When set against an orchestrator, fan out to every registered cell-scheduler and "
                "merge results, tagging each entry with its source cell URL; failed cells are "
                "listed in `sources`. Has no effect against a cell-scheduler");
  sub->callback([o, &ctx] {
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::list_fenced_leases(*client, o->all);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    auto rows = admin::fenced_lease_rows(
        r->json.is_object() ? r->json.value("leases", nlohmann::json()) : nlohmann::json(),
        ctx.global.wide);
    if (!rows) return fail(ctx, rows.error());
    print_table(ctx, *rows);
    print_sources(ctx, r->json);
  });
}

}  // namespace grafos::tools::admin_cli
