// Subcommands of grafos-registry: serve, tenant add|list|disable|enable|token, admin-token
// add|list|revoke.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/common/tool.hpp"

namespace grafos::tools::registry {

/// `serve`: the HTTPS admin API server.
void add_serve(CLI::App& app, Context& ctx);
/// `tenant add|list|disable|enable|token` and `admin-token add|list|revoke`: direct database
/// administration.
void add_tenant(CLI::App& app, Context& ctx);

}  // namespace grafos::tools::registry
