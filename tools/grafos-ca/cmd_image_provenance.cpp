// PLACEHOLDER: grafos-ca image-provenance, being implemented (see issues).
#include "tools/grafos-ca/commands.hpp"

namespace grafos::tools::ca {

void add_image_provenance(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("image-provenance", "image-provenance (not implemented yet)");
  add_global_options(*sub, ctx.global);
  sub->callback([&ctx] {
    ctx.fail(Error{Errc::internal, "image-provenance is not implemented yet"});
  });
}

}  // namespace grafos::tools::ca
