// grafos-ca image-provenance build: flags into a provenance::BuildRequest, one library call.
#include <cstdlib>
#include <memory>

#include "provenance/build.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

namespace {

struct BuildFlags {
  provenance::BuildRequest req;
  std::string output = "provenance.json";  ///< "-": stdout
};

}  // namespace

void add_image_provenance_build(CLI::App& group, Context& ctx) {
  auto* build = group.add_subcommand(
      "build",
      "Compute provenance for a set of binaries plus the source repo state, write a JSON record "
      "to `--output`. Run inside a build (AMI bake, GCP image build, etc.) AFTER the binaries "
      "are produced and BEFORE the image snapshot. With --sign-key and --sign-cert the output is "
      "the signed Sigstore bundle instead. SOURCE_DATE_EPOCH, when set, is used as build.time.");
  add_global_options(*build, ctx.global, kFlagJson);
  auto f = std::make_shared<BuildFlags>();
  auto& rec = f->req.record;
  build
      ->add_option("--image-kind", rec.image_kind,
                   "Image kind tag (`aws-ami` | `gcp-custom-image` | `azure-compute-gallery` | "
                   "`lab-debian-image`). Free-form today")
      ->required();
  build
      ->add_option("--image-name", rec.image_name,
                   "Human-meaningful image name (e.g. the AMI name the bake script produced). "
                   "Free-form")
      ->required();
  build
      ->add_option("--binary", rec.binaries,
                   "Path to a binary that ships in the image. Repeatable. Order is preserved")
      ->type_name("PATH")
      ->take_all()
      ->allow_extra_args(false);
  build->add_option("--output", f->output, "Output JSON path. Use `-` for stdout")
      ->capture_default_str();
  build
      ->add_option("--repo", rec.repo,
                   "Repo root to inspect for commit + dirty-tree markers (the root itself, no "
                   "upward search). Untracked files do not make the tree dirty")
      ->capture_default_str();
  build
      ->add_option("--sign-key", f->req.sign_key,
                   "Sign the record with this key (a PEM path, a pkcs11: URI or a TSS2 PEM / "
                   "handle:) and write a Sigstore bundle")
      ->type_name("REF")
      ->check(non_empty());
  build
      ->add_option("--sign-cert", f->req.sign_cert,
                   "Provenance-signer certificate (PEM) of --sign-key")
      ->type_name("FILE")
      ->check(non_empty());
  build->add_flag("--force", f->req.output.force, "Replace an existing --output file");
  build->callback([&ctx, f] {
    // The library refuses this too, in its own words; here it is named by its flag.
    if (f->req.record.binaries.empty())
      return ctx.fail(Error{Errc::usage, "at least one --binary is required"});
    if (f->output != "-")
      f->req.output.path = f->output;
    else
      f->req.output.path.reset();
    if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) f->req.record.source_date_epoch = sde;
    Progress progress;
    f->req.record.hash.progress = progress.callback();
    auto written = provenance::build_image_provenance(f->req, ctx.interaction());
    if (!written) return ctx.fail(with_force_hint(std::move(written).error()));
    if (written->dirty)
      ctx.interaction().warn("the source tree at " + f->req.record.repo +
                             " has uncommitted changes: the record says dirty, and commit " +
                             written->commit + " is not exactly what was built");
    if (auto p = print_provenance_written(ctx, *written); !p) ctx.fail(p.error());
  });
}

}  // namespace grafos::tools::ca
