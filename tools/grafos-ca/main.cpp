// grafos-ca: the offline fabric CA. Links no network code (checked by tests/cli).
#include "grafos_config.h"
#include "tools/grafos-ca/commands.hpp"

int main(int argc, char** argv) {
  using namespace grafos::tools;
  Context ctx;
  ctx.tool = "grafos-ca";
  CLI::App app{
      "grafos-ca: offline fabric CA. Creates the fabric CA (key in a PEM file, a PKCS#11 token or "
      "a TPM), issues client and server certificates, and builds, signs and verifies image "
      "provenance records. No network code.",
      "grafos-ca"};
  app.set_version_flag("-V,--version", GRAFOS_VERSION);
  app.require_subcommand(1);
  add_global_options(app, ctx.global);
  ca::add_init_ca(app, ctx);
  ca::add_issue_cert(app, ctx);
  ca::add_issue_server_cert(app, ctx);
  ca::add_image_provenance(app, ctx);
  return run_app(app, ctx, argc, argv);
}
