// grafos-ca image-provenance trusted-root: flags into a provenance::TrustedRootRequest, one library
// call.
#include <iostream>
#include <memory>

#include "provenance/trusted_root.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

namespace {

struct TrustedRootFlags {
  provenance::TrustedRootRequest req;
  std::string ca, tsa_cert;
  std::string output = "trusted_root.json";  ///< "-": stdout
};

}  // namespace

void add_image_provenance_trusted_root(CLI::App& group, Context& ctx) {
  auto* cmd = group.add_subcommand(
      "trusted-root",
      "Write a Sigstore trusted root (application/vnd.dev.sigstore.trustedroot.v0.1+json) with "
      "the fabric CA as certificate authority and the TSA as timestamp authority, no transparency "
      "or CT logs, so that Sigstore's own verifiers check our bundles (tlog and ctlog thresholds "
      "0, timestamp threshold 1)");
  add_global_options(*cmd, ctx.global, kFlagJson);
  auto f = std::make_shared<TrustedRootFlags>();
  cmd->add_option("--ca", f->ca, "Fabric CA certificate (PEM; issuing CA first, root last)")
      ->type_name("FILE")
      ->required()
      ->check(non_empty());
  cmd->add_option("--tsa-cert", f->tsa_cert,
                  "RFC 3161 TSA certificate (PEM; EKU timeStamping, critical), issued by --ca or "
                  "followed in the file by its chain up to its root")
      ->type_name("FILE")
      ->check(non_empty());
  cmd->add_option("--output", f->output, "Output trusted root path. Use `-` for stdout")
      ->capture_default_str();
  cmd->add_flag("--force", f->req.output.force, "Replace an existing --output file");
  cmd->callback([&ctx, f] {
    f->req.ca = f->ca;
    if (!f->tsa_cert.empty()) f->req.tsa_cert = f->tsa_cert;
    if (f->output != "-")
      f->req.output.path = f->output;
    else
      f->req.output.path.reset();
    auto written = provenance::write_trusted_root(f->req);
    if (!written) return ctx.fail(with_force_hint(std::move(written).error()));
    if (!written->output) {
      std::cout << written->text << std::flush;
    } else if (ctx.global.json) {
      std::cout << nlohmann::json{{"output", written->output->string()}}.dump() << '\n';
    } else {
      std::cout << "wrote Sigstore trusted root " << written->output->string() << '\n';
    }
  });
}

}  // namespace grafos::tools::ca
