// Subcommands of grafos-admin and what they share: the connection flags of the seed
// (--scheduler, --cert, --key, --ca, --bearer and their GRAFOS_* variables, plus --bearer-file and
// --timeout), confirmation of destructive commands, and output (tables, --json, colour).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "admin/client.hpp"
#include "admin/render.hpp"
#include "tools/common/tool.hpp"

namespace grafos::tools::admin_cli {

/// Connection flags of one subcommand.
struct ConnectionOptions {
  std::string scheduler;
  std::string cert;
  std::string key;
  std::string ca;
  std::string bearer;       ///< --bearer / GRAFOS_BEARER (prefer the file or the variable)
  std::string bearer_file;  ///< --bearer-file / GRAFOS_BEARER_FILE
  double timeout_s = 30;    ///< --timeout / GRAFOS_TIMEOUT, whole request
};

/// Declares the connection flags on `sub`; `scheduler_help` and `bearer_help` are the seed's text.
void add_connection_options(CLI::App& sub, ConnectionOptions& o, const std::string& scheduler_help,
                            const std::string& bearer_help);

/// Builds the client (loads the key; may prompt for a PIN or passphrase on the TTY).
Result<admin::Client> open_client(Context& ctx, ConnectionOptions& o);

/// Asks "<question> [y/N]" on the terminal. Without --yes and without a TTY on stdin it refuses
/// (Errc::usage, telling to pass --yes); a "no" answer is Errc::mismatch ("aborted").
Result<void> confirm(const std::string& question, bool yes);

/// Prints `rows` as an aligned table on stdout; the header is bold when colour is allowed and a
/// row whose column `alert_col` equals one of the alert words is red.
void print_table(const Context& ctx, const admin::Rows& rows, int alert_col = -1);

/// Prints the server's JSON answer exactly as received (plus a final newline).
void print_json(const admin::Reply& reply);

/// Prints a fan-out's `sources` (if any) and warns on stderr about each failed source.
void print_sources(const Context& ctx, const nlohmann::json& answer);

/// What to do next after `e`, naming this tool's flags (empty when there is no advice): the
/// library's messages say what went wrong, never which flag to pass.
std::string next_step_hint(const Error& e);

/// The exit status for an error of grafos-admin (404 -> kExitNotFound, 401, 403, 409, ...).
int admin_exit_status(const Error& e);

/// Reports `e` as one line and sets the exit status.
void fail(Context& ctx, const Error& e);

void add_create_tenant(CLI::App& app, Context& ctx);
void add_list_tenants(CLI::App& app, Context& ctx);
void add_set_quota(CLI::App& app, Context& ctx);
void add_delete_tenant(CLI::App& app, Context& ctx);
void add_audit_query(CLI::App& app, Context& ctx);
void add_list_fenced_leases(CLI::App& app, Context& ctx);
void add_unfence_lease(CLI::App& app, Context& ctx);
void add_timestamp(CLI::App& app, Context& ctx);
/// Federation (seed 001): grant create|list|show|revoke|token, peer add|list|read.
void add_grant(CLI::App& app, Context& ctx);
void add_peer(CLI::App& app, Context& ctx);

}  // namespace grafos::tools::admin_cli
