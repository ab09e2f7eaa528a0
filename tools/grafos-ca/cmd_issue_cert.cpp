// PLACEHOLDER: grafos-ca issue-cert, being implemented (see issues).
#include "tools/grafos-ca/commands.hpp"

namespace grafos::tools::ca {

void add_issue_cert(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("issue-cert", "issue-cert (not implemented yet)");
  add_global_options(*sub, ctx.global);
  sub->callback([&ctx] { ctx.fail(Error{Errc::internal, "issue-cert is not implemented yet"}); });
}

}  // namespace grafos::tools::ca
