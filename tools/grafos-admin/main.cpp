// grafos-admin: the fleet-administration client (tenants, quotas, fenced leases, audit) over
// HTTPS with mutual TLS. Exit statuses: see man grafos-admin(1), EXIT STATUS.
#include <iostream>

#include "grafos_config.h"
#include "tools/grafos-admin/commands.hpp"
#include "util/secret.hpp"

int main(int argc, char** argv) {
  using namespace grafos::tools;
  // First of all, before any key, PIN or passphrase is read: no core file may ever hold one.
  if (auto r = grafos::disable_core_dumps(); !r) {
    std::cerr << "grafos-admin: error: " << r.error().message << '\n';
    return kExitInternal;
  }
  Context ctx;
  ctx.tool = "grafos-admin";
  CLI::App app{
      "grafos-admin: fleet administration over HTTPS with mutual TLS: tenants and quotas, fenced "
      "leases and the audit log of a grafOS scheduler (or grafos-registry).\n"
      "Connection: --scheduler https://HOST:PORT, --cert/--key (client certificate from "
      "grafos-ca issue-cert; the key may be a pkcs11: URI), --ca (the fabric ca.pem), optional "
      "bearer token (GRAFOS_BEARER or --bearer-file). Every flag has a GRAFOS_* variable.\n"
      "Exit status: 0 ok, 1 declined confirmation, 2 usage, 3 request refused (400), 5 key, 6 "
      "file, 10 network (refused, timeout, 5xx), 11 TLS, 12 HTTP 401, 13 HTTP 403, 14 HTTP 409, "
      "15 HTTP 404.",
      "grafos-admin"};
  app.set_version_flag("-V,--version", GRAFOS_VERSION);
  app.require_subcommand(1);
  add_global_options(app, ctx.global);
  admin_cli::add_create_tenant(app, ctx);
  admin_cli::add_list_tenants(app, ctx);
  admin_cli::add_set_quota(app, ctx);
  admin_cli::add_delete_tenant(app, ctx);
  admin_cli::add_audit_query(app, ctx);
  admin_cli::add_list_fenced_leases(app, ctx);
  admin_cli::add_unfence_lease(app, ctx);
#if HAVE_PROVENANCE
  admin_cli::add_timestamp(app, ctx);
#endif
  admin_cli::add_grant(app, ctx);
  admin_cli::add_peer(app, ctx);
  return run_app(app, ctx, argc, argv);
}
