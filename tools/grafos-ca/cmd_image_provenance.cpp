// grafos-ca image-provenance: the group of build, sign and verify (cmd_image_provenance_*.cpp).
#include "tools/grafos-ca/commands.hpp"

namespace grafos::tools::ca {

void add_image_provenance(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "image-provenance",
      "Build, sign and verify image provenance records.\n"
      "Produces a stable JSON record (`schema_version: 1`) "
      "describing exactly what is in a grafOS cell image: source commit, dirty-tree marker, "
      "per-binary SHA-256s, build host/user/time, and reserved fields the AWS/GCP/Azure pipelines "
      "(and the conformance gate) flow through unchanged; signs it as an in-toto statement in a "
      "DSSE envelope (Sigstore bundle v0.3), and verifies it fail-closed.");
  sub->require_subcommand(1);
  add_global_options(*sub, ctx.global, kFlagJson);
  add_image_provenance_build(*sub, ctx);
  add_image_provenance_sign(*sub, ctx);
  add_image_provenance_verify(*sub, ctx);
  add_image_provenance_trusted_root(*sub, ctx);
}

}  // namespace grafos::tools::ca
