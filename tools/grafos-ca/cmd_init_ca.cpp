// PLACEHOLDER: grafos-ca init-ca, being implemented (see issues).
#include "tools/grafos-ca/commands.hpp"

namespace grafos::tools::ca {

void add_init_ca(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("init-ca", "init-ca (not implemented yet)");
  add_global_options(*sub, ctx.global);
  sub->callback([&ctx] { ctx.fail(Error{Errc::internal, "init-ca is not implemented yet"}); });
}

}  // namespace grafos::tools::ca
