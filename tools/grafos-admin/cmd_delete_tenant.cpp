// grafos-admin delete-tenant: DELETE /api/v1/tenants/{name}?force=true|false.
#include <iostream>

#include "admin/wire.hpp"
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
  std::string name;
  bool yes = false;
  bool force = false;
};
}  // namespace

void add_delete_tenant(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "delete-tenant",
      "Delete a tenant. Refuses with HTTP 409 if any active leases reference the tenant; revoke "
      "or wait for them to expire first, or pass --force. Asks for confirmation unless --yes; "
      "without a terminal on stdin it refuses unless --yes is given.\nExample: grafos-admin "
      "delete-tenant --scheduler https://scheduler:9200 --name acme --yes");
  add_global_options(*sub, ctx.global);
  add_connection_options(
      *sub, o->conn, "Scheduler URL (orchestrator)",
      "FabricAdmin bearer token (required under mtls+token for DELETE /tenants/<name>)");
  sub->add_option("--name", o->name, "Tenant name to delete")->required();
  sub->add_flag("--yes", o->yes, "Skip the \"are you sure\" prompt");
  sub->add_flag("--force", o->force,
                "force-delete the tenant even if cells hold active leases for it. Without "
                "`--force`, the server refuses with HTTP 409 (`tenant_has_active_leases`). With "
                "`--force`, active leases are released server-side");
  sub->callback([o, &ctx] {
    std::string q = "Delete tenant '" + o->name + "'" +
                    (o->force ? " and release its active leases" : "") + "?";
    if (auto c = confirm(q, o->yes); !c) return fail(ctx, c.error());
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::delete_tenant(*client, o->name, o->force);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    // The answer is {"deleted","released_leases"}; an empty answer (no body) is accepted.
    std::uint64_t released = 0;
    if (!r->json.is_null()) {
      auto answer = admin::decode<admin::DeleteTenantAnswer>(r->json);
      if (!answer) return fail(ctx, answer.error().context("delete-tenant '" + o->name + "'"));
      released = answer->released_leases;
    }
    std::cout << "deleted tenant '" << o->name << "'";
    if (released > 0) std::cout << " (released " << released << " active lease(s))";
    std::cout << '\n';
  });
}

}  // namespace grafos::tools::admin_cli
