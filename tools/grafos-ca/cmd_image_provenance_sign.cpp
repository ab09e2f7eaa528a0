// grafos-ca image-provenance sign: flags into a provenance::SignRequest, one library call.
#include <memory>

#include "provenance/sign.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

namespace {

struct SignFlags {
  provenance::SignRequest req;
  std::string output = "provenance.sigstore.json";  ///< "-": stdout
};

}  // namespace

void add_image_provenance_sign(CLI::App& group, Context& ctx) {
  auto* sign = group.add_subcommand(
      "sign",
      "Sign an existing record: wrap it in an in-toto Statement v1 (predicateType "
      "https://grafos.dev/provenance/image/v1) inside a DSSE envelope and write it with the signer "
      "certificate as one Sigstore bundle v0.3 JSON file (no transparency-log entries)");
  add_global_options(*sign, ctx.global, kFlagJson);
  auto f = std::make_shared<SignFlags>();
  sign->add_option("--input", f->req.input, "Path to the provenance record to sign")
      ->required()
      ->check(non_empty());
  sign->add_option("--sign-key", f->req.sign_key,
                   "Signing key: a PEM path, a pkcs11: URI or a TSS2 PEM / handle:")
      ->type_name("REF")
      ->required()
      ->check(non_empty());
  sign->add_option("--sign-cert", f->req.sign_cert,
                   "Provenance-signer certificate (PEM) of --sign-key (codeSigning EKU, "
                   "urn:fabricbios:provenance-signer:<pipeline>)")
      ->type_name("FILE")
      ->required()
      ->check(non_empty());
  sign->add_option("--output", f->output, "Output bundle path. Use `-` for stdout")
      ->capture_default_str();
  sign->add_flag("--force", f->req.output.force, "Replace an existing --output file");
  sign->callback([&ctx, f] {
    if (f->output != "-")
      f->req.output.path = f->output;
    else
      f->req.output.path.reset();
    auto written = provenance::sign_image_provenance(f->req, ctx.interaction());
    if (!written) return ctx.fail(with_force_hint(std::move(written).error()));
    if (auto p = print_provenance_written(ctx, *written); !p) ctx.fail(p.error());
  });
}

}  // namespace grafos::tools::ca
