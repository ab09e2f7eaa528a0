// grafos-ca image-provenance verify: flags into a provenance::VerifyRequest, one library call.
#include <memory>

#include "provenance/verify.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

namespace {

struct VerifyFlags {
  std::string input, ca, crl, tsa_ca, root, signer_pipeline, image_name, image_kind;
  std::vector<std::string> binaries;
  bool require_signed = false;
};

}  // namespace

void add_image_provenance_verify(CLI::App& group, Context& ctx) {
  auto* verify = group.add_subcommand(
      "verify",
      "Re-hash binaries on disk and assert they match an existing provenance record or signed "
      "bundle. Refuses with non-zero exit on mismatch. Fail-closed by design");
  add_global_options(*verify, ctx.global, kFlagJson);
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
  auto* root = verify
                   ->add_option("--root", f->root,
                                "Directory the record's relative binary paths are resolved "
                                "against (default: the working directory), e.g. the folder the "
                                "build ran in, or a mounted image")
                   ->type_name("DIR")
                   ->check(non_empty());
  root->excludes(binary);
  verify->add_flag("--require-signed", f->require_signed,
                   "Refuse an unsigned record: only a signed bundle (checked with --ca) says who "
                   "made it");
  verify
      ->add_option("--signer-pipeline", f->signer_pipeline,
                   "Require the bundle's signer to be this provenance-signer pipeline "
                   "(urn:fabricbios:provenance-signer:NAME); refuses an unsigned record")
      ->type_name("NAME")
      ->check(non_empty());
  verify
      ->add_option("--image-name", f->image_name,
                   "Require the record to be for this image name (exact match)")
      ->type_name("NAME")
      ->check(non_empty());
  verify
      ->add_option("--image-kind", f->image_kind,
                   "Require the record to be for this image kind (exact match)")
      ->type_name("KIND")
      ->check(non_empty());
  verify->callback([&ctx, f, binary, root] {
    provenance::VerifyRequest req;
    req.input = f->input;
    if (!f->ca.empty()) req.ca = f->ca;
    if (!f->crl.empty()) req.crl = f->crl;
    if (!f->tsa_ca.empty()) req.tsa_ca = f->tsa_ca;
    req.tsa_ca_name = "--tsa-ca";
    req.ca_name = "--ca";
    if (binary->count() > 0) req.binaries = f->binaries;
    if (root->count() > 0) req.root = f->root;
    req.require_signed = f->require_signed;
    if (!f->signer_pipeline.empty()) req.signer_pipeline = f->signer_pipeline;
    if (!f->image_name.empty()) req.image_name = f->image_name;
    if (!f->image_kind.empty()) req.image_kind = f->image_kind;
    Progress progress;
    req.hash.progress = progress.callback();
    ctx.own_json_errors = true;  // its --json report carries the error
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
