// PLACEHOLDER: grafos-ca issue-server-cert, being implemented (see issues).
#include "tools/grafos-ca/commands.hpp"

namespace grafos::tools::ca {

void add_issue_server_cert(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("issue-server-cert", "issue-server-cert (not implemented yet)");
  add_global_options(*sub, ctx.global);
  sub->callback([&ctx] {
    ctx.fail(Error{Errc::internal, "issue-server-cert is not implemented yet"});
  });
}

}  // namespace grafos::tools::ca
