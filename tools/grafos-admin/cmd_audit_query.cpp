// grafos-admin audit-query: GET /api/v1/admin/audit with filters.
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
  admin::AuditFilter filter;
  std::int64_t tenant_id = 0;
  std::int64_t since = 0;
  std::int64_t until = 0;
  std::uint64_t skip = 0;
};
}  // namespace

void add_audit_query(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "audit-query",
      "Query the audit log. Hits the `/api/v1/admin/audit` endpoint with optional filters; works "
      "against both orchestrator and cell-scheduler endpoints (same wire shape on both).\n"
      "Example: grafos-admin audit-query --scheduler https://scheduler:9200 \\\n  --kind tenant "
      "--since 1700000000 --limit 50");
  add_global_options(*sub, ctx.global);
  add_connection_options(*sub, o->conn,
                         "Scheduler URL (orchestrator at:9200 or cell at:9100; both expose "
                         "/api/v1/admin/audit with the same shape)",
                         "FabricAdmin bearer (required under mtls+token)");
  sub->add_option("--kind", o->filter.kinds,
                  "Filter to a specific audit kind. Repeat `--kind` to admit multiple. Valid "
                  "values: `auth`, `admin`, `tenant`, `token`, `admission`, `billing`, `lease` "
                  "(subset depends on which side you query)")
      ->allow_extra_args(false)
      ->check(CLI::IsMember(admin::audit_kinds()));
  auto* tid =
      sub->add_option("--tenant-id", o->tenant_id, "Filter to a specific tenant_id (numeric)");
  sub->add_option("--principal", o->filter.principal,
                  "Filter to entries containing this substring in the `principal` field");
  sub->add_option("--outcome", o->filter.outcomes,
                  "Filter to a specific outcome string (allowed, denied, error). Repeatable")
      ->allow_extra_args(false);
  auto* since = sub->add_option("--since", o->since, "Lower bound (Unix epoch seconds, inclusive)");
  auto* until = sub->add_option("--until", o->until, "Upper bound (Unix epoch seconds, inclusive)");
  auto* skip = sub->add_option("--skip", o->skip, "Skip N matching entries (pagination)")
                   ->check(CLI::NonNegativeNumber);
  sub->add_option("--limit", o->filter.limit, "Cap the result count. Default 100")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_flag("--all", o->filter.all,
                "when set against an orchestrator, fan out to every registered cell-scheduler and "
                "merge results newest-first. Each entry is tagged with its `source`. The response "
                "also carries a `sources` array reporting per-source success/failure so an "
                "unreachable cell shows up explicitly instead of silently missing entries. Has no "
                "effect against a cell-scheduler directly");
  sub->callback([o, &ctx, tid, since, until, skip] {
    if (tid->count()) o->filter.tenant_id = o->tenant_id;
    if (since->count()) o->filter.since = o->since;
    if (until->count()) o->filter.until = o->until;
    if (skip->count()) o->filter.skip = o->skip;
    if (o->filter.since && o->filter.until && *o->filter.since > *o->filter.until)
      return fail(ctx, make_error(Errc::usage, "--since is after --until: nothing can match"));
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::audit_query(*client, o->filter);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    auto rows = admin::audit_rows(
        r->json.is_object() ? r->json.value("entries", nlohmann::json()) : nlohmann::json(),
        ctx.global.wide);
    if (!rows) return fail(ctx, rows.error());
    print_table(ctx, *rows, ctx.global.wide ? 6 : 4);
    print_sources(ctx, r->json);
  });
}

}  // namespace grafos::tools::admin_cli
