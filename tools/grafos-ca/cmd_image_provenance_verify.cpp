// grafos-ca image-provenance verify: flags into a provenance::VerifyRequest, one library call.
#include <memory>

#include "provenance/verify.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

namespace {

struct VerifyFlags {
  std::string input, ca, crl, tsa_ca;
  std::vector<std::string> binaries;
};

}  // namespace

void add_image_provenance_verify(CLI::App& group, Context& ctx) {
  auto* verify = group.add_subcommand(
      "verify",
      "Re-hash binaries on disk and assert they match an existing provenance record or signed "
      "bundle. Refuses with non-zero exit on mismatch. Fail-closed by design");
  add_global_options(*verify, ctx.global);
  verify->footer(kVerifyExitStatusFooter);
  auto f = std::make_shared<VerifyFlags>();
  verify
      ->add_option("--input", f->input,
                   "Path to the provenance record (or signed bundle) to verify against")
      ->required()
      ->check(non_empty());
  auto* binary = verify->add_option(
      "--binary", f->binaries,
      "Optional override for binary paths (repeatable, order-matched against the record) when "
      "the runtime location differs from the build location");
  binary->type_name("PATH")->take_all()->allow_extra_args(false);
  verify
      ->add_option("--ca", f->ca,
                   "Fabric CA certificate (PEM). Required for a signed bundle; an unsigned "
                   "record is refused when it is given")
      ->type_name("FILE")
      ->check(non_empty());
  verify
      ->add_option("--crl", f->crl,
                   "The fabric CA's CRL (grafos-ca gen-crl; needs --ca): a signer on it is "
                   "refused, and so is a CRL not signed by --ca or past its nextUpdate")
      ->type_name("FILE")
      ->check(non_empty());
  verify
      ->add_option("--tsa-ca", f->tsa_ca,
                   "Trust anchors (PEM) for the bundle's RFC 3161 timestamp authorities instead "
                   "of --ca (an outside TSA's CA; its TSA certificate may be in the file too)")
      ->type_name("FILE")
      ->check(non_empty());
  verify->callback([&ctx, f, binary] {
    provenance::VerifyRequest req;
    req.input = f->input;
    if (!f->ca.empty()) req.ca = f->ca;
    if (!f->crl.empty()) req.crl = f->crl;
    if (!f->tsa_ca.empty()) req.tsa_ca = f->tsa_ca;
    req.tsa_ca_name = "--tsa-ca";
    req.ca_name = "--ca";
    if (binary->count() > 0) req.binaries = f->binaries;
    Progress progress;
    req.hash.progress = progress.callback();
    auto response = provenance::verify_image_provenance(req);
    if (!response) {
      ctx.fail(response.error());
      return print_verify_error(ctx, response.error());
    }
    print_verify(ctx, *response);
    if (auto v = response->verdict(); !v) ctx.fail(v.error());
  });
}

}  // namespace grafos::tools::ca
