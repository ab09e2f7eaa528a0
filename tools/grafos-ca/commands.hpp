// Subcommands of grafos-ca; one cmd_<verb>.cpp each declares its options and calls the library.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/common/tool.hpp"

namespace grafos::tools::ca {

void add_init_ca(CLI::App& app, Context& ctx);
void add_issue_cert(CLI::App& app, Context& ctx);
void add_issue_server_cert(CLI::App& app, Context& ctx);
void add_image_provenance(CLI::App& app, Context& ctx);
void add_revoke(CLI::App& app, Context& ctx);
void add_gen_crl(CLI::App& app, Context& ctx);
void add_list_certs(CLI::App& app, Context& ctx);
void add_ledger(CLI::App& app, Context& ctx);
void add_transcript(CLI::App& app, Context& ctx);
void add_token(CLI::App& app, Context& ctx);
void add_issue_intermediate(CLI::App& app, Context& ctx);
void add_inspect(CLI::App& app, Context& ctx);
// The verbs of image-provenance, each added to the `group` subcommand.
void add_image_provenance_build(CLI::App& group, Context& ctx);
void add_image_provenance_sign(CLI::App& group, Context& ctx);
void add_image_provenance_verify(CLI::App& group, Context& ctx);
void add_image_provenance_trusted_root(CLI::App& group, Context& ctx);

}  // namespace grafos::tools::ca
