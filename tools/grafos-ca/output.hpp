// Shared output of grafos-ca's certificate commands: a human summary or --json.
#pragma once

#include <vector>

#include "pki/ceremony.hpp"
#include "tools/common/tool.hpp"

namespace grafos::tools::ca {

/// The EXIT STATUS footer of every certificate command's --help.
extern const char* const kExitStatusFooter;

/// JSON object describing one written certificate.
std::string written_json(const pki::WrittenCert& w);

/// Prints what was written: one JSON object (or an array when `as_array`) with --json, a short
/// human summary otherwise.
void print_written(const Context& ctx, const std::vector<pki::WrittenCert>& written,
                   bool as_array = false);

}  // namespace grafos::tools::ca
