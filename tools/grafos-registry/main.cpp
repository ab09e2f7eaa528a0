// grafos-registry: the reference admin server for grafos-admin (DESIGN.md section 6).
#include <iostream>

#include "grafos_config.h"
#include "tools/grafos-registry/commands.hpp"
#include "util/secret.hpp"

int main(int argc, char** argv) {
  using namespace grafos::tools;
  // First of all, before any key, PIN or passphrase is read: no core file may ever hold one.
  if (auto r = grafos::disable_core_dumps(); !r) {
    std::cerr << "grafos-registry: error: " << r.error().message << '\n';
    return kExitInternal;
  }
  Context ctx;
  ctx.tool = "grafos-registry";
  CLI::App app{
      "grafos-registry: reference server for the fabric admin API (tenants, quotas, leases, "
      "fences, audit) over HTTPS with mTLS roles or bearer tokens, state in one SQLite file.\n"
      "  serve         run the HTTPS server (cell scheduler or orchestrator)\n"
      "  tenant        add/list/disable/enable/token tenants and their bearer tokens (works on the "
      "database directly, server running or not)\n"
      "  admin-token   create, list and revoke FabricAdmin bearer tokens\n"
      "See grafos-registry(1).",
      "grafos-registry"};
  app.set_version_flag("-V,--version", GRAFOS_VERSION);
  app.require_subcommand(1);
  add_global_options(app, ctx.global, kFlagJson);
  registry::add_serve(app, ctx);
  registry::add_tenant(app, ctx);
  return run_app(app, ctx, argc, argv);
}
