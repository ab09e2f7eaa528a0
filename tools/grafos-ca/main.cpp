// grafos-ca: the offline fabric CA. Links no network code (checked by tests/cli).
#include <openssl/crypto.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <string_view>
#include <utility>

#include "grafos_config.h"
#include "tools/grafos-ca/commands.hpp"
#include "util/secret.hpp"

int main(int argc, char** argv) {
  using namespace grafos::tools;
  // First of all, before any key, PIN or passphrase is read: no core file may ever hold one.
  if (auto r = grafos::disable_core_dumps(); !r) {
    std::cerr << "grafos-ca: error: " << r.error().message << '\n';
    return kExitInternal;
  }
  // OpenSSL's exit-time cleanup frees every table it built (about 1.2 million instructions, a
  // tenth of a certificate's issuance) just before the kernel drops the whole address space.
  // Keys and PINs do not wait for it: each is wiped when its owner goes out of scope.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  Context ctx;
  ctx.tool = "grafos-ca";
  CLI::App app{
      "grafos-ca: offline fabric CA. Creates the fabric CA (key in a PEM file, a PKCS#11 token or "
      "a TPM), issues client and server certificates, and builds, signs and verifies image "
      "provenance records. No network code.",
      "grafos-ca"};
  app.set_version_flag("-V,--version", GRAFOS_VERSION);
  app.require_subcommand(1);
  add_global_options(app, ctx.global, kFlagJson);
  // Declaring every subcommand's options costs about a million instructions a run. When the
  // first argument names a subcommand, only that one is declared: its parsing, help and errors
  // are the same either way (a subcommand's help does not list its siblings). Any other first
  // argument (a global option, --help, a typo) gets them all.
  using Add = void (*)(CLI::App&, Context&);
  static constexpr std::pair<std::string_view, Add> kCommands[] = {
      {"init-ca", ca::add_init_ca},
      {"issue-cert", ca::add_issue_cert},
      {"issue-server-cert", ca::add_issue_server_cert},
      {"image-provenance", ca::add_image_provenance},
      {"revoke", ca::add_revoke},
      {"gen-crl", ca::add_gen_crl},
      {"list-certs", ca::add_list_certs},
      {"ledger", ca::add_ledger},
      {"transcript", ca::add_transcript},
      {"token", ca::add_token},
      {"issue-intermediate", ca::add_issue_intermediate},
      {"inspect", ca::add_inspect},
  };
  const std::string_view first = argc > 1 ? argv[1] : "";
  const auto* named = std::find_if(std::begin(kCommands), std::end(kCommands),
                                   [&](const auto& c) { return c.first == first; });
  if (named != std::end(kCommands))
    named->second(app, ctx);
  else
    for (const auto& [name, add] : kCommands) add(app, ctx);
  return run_app(app, ctx, argc, argv);
}
