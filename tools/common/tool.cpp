#include "tools/common/tool.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

namespace grafos::tools {

const CLI::Validator& non_empty() {
  static const CLI::Validator v(
      [](std::string& value) { return value.empty() ? std::string("must not be empty") : ""; }, "",
      "NONEMPTY");
  return v;
}

// The one table from what went wrong to the documented exit statuses (the man pages' EXIT
// STATUS sections); the registry's domain codes reach a tool only through grafos-registry's own
// subcommands (tenant, admin-token), which open the database directly.
int exit_status_for(Errc code) {
  switch (code) {
    case Errc::usage:
      return kExitUsage;
    case Errc::invalid_input:
    case Errc::bad_request:
    case Errc::bad_name:
    case Errc::limit_exceeded:
      return kExitInvalidInput;
    case Errc::exists:
    case Errc::tenant_exists:
    case Errc::token_exists:
      return kExitExists;
    case Errc::file_missing:
    case Errc::binary_missing:
    case Errc::io:
    case Errc::storage:
      return kExitIo;
    case Errc::crypto:
    case Errc::seal_open_failed:
      return kExitCrypto;
    case Errc::secret_missing:
    case Errc::token_missing:
    case Errc::key_backend:
    case Errc::pin:
      return kExitKey;
    case Errc::policy:
      return kExitPolicy;
    case Errc::mismatch:
      return kExitMismatch;
    case Errc::network:
      return kExitNetwork;
    case Errc::tls:
      return kExitTls;
    case Errc::unauthorized:
    case Errc::enrollment_token_unknown:
    case Errc::enrollment_token_expired:
      return kExitUnauthorized;
    case Errc::forbidden:
    case Errc::grant_revoked:
    case Errc::grant_expired:
      return kExitForbidden;
    case Errc::conflict:
    case Errc::enrollment_token_used:
    case Errc::grant_already_active:
    case Errc::tenant_has_active_leases:
    case Errc::quota_below_usage:
    case Errc::quota_exceeded:
    case Errc::lease_not_active:
    case Errc::lease_not_fenced:
    case Errc::cell_not_registered:
      return kExitConflict;
    case Errc::remote_not_found:
    case Errc::tenant_not_found:
    case Errc::lease_not_found:
    case Errc::token_not_found:
    case Errc::endpoint_not_found:
      return kExitNotFound;
    case Errc::internal:
      return kExitInternal;
  }
  return kExitInternal;
}

void Context::fail(const Error& e) {
  std::string msg = e.message;
  for (auto& c : msg)
    if (c == '\n') c = ' ';  // one line per error
  std::cerr << tool << ": error: " << msg << '\n';
  // Under --json a script reads stdout: the error is also one JSON object there.
  if (global.json && !own_json_errors)
    std::cout << nlohmann::json{{"error", errc_name(e.code)}, {"message", msg}}.dump() << '\n';
  exit_code = exit_status_for(e.code);
}

void Context::note(std::string_view message) const {
  std::cerr << tool << ": note: " << message << '\n';
}

hsm::Interaction Context::interaction() const {
  hsm::Interaction in;
  if (::isatty(STDIN_FILENO))
    in.prompt_secret = [](std::string_view p) { return prompt_secret(p); };
  std::string t = tool;
  in.warn = [t](std::string_view w) { std::cerr << t << ": warning: " << w << '\n'; };
  return in;
}

bool Context::color_stdout() const {
  return !global.no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO);
}

void add_global_options(CLI::App& app, GlobalOptions& g, unsigned meaningful) {
  // A flag that does nothing in this command goes to CLI11's hidden group (the empty name).
  auto place = [&](CLI::Option* o, unsigned flag) {
    if ((meaningful & flag) == 0) {
      o->group("");
      g.without_effect.push_back(o);
    }
  };
  auto* fabric = app.add_option("--fabric", g.fabric,
                                "Fabric address (host:port). Overrides GRAFOS_FABRIC env var");
  if (meaningful & kFlagFabric)
    fabric->envname("GRAFOS_FABRIC");  // where it means nothing the variable is not read at all
  place(fabric, kFlagFabric);
  place(app.add_flag("--json", g.json, "Output in JSON format for scripting"), kFlagJson);
  place(app.add_flag("--wide", g.wide, "Show additional columns in table output"), kFlagWide);
  place(app.add_flag("--no-color", g.no_color, "Disable color output"), kFlagNoColor);
  place(app.add_option("--pool", g.pool, "Pool name (default: \"default\")")->capture_default_str(),
        kFlagPool);
}

int run_app(CLI::App& app, Context& ctx, int argc, char** argv) {
  // Before any command runs: a global flag given where it does nothing is named, not silently
  // dropped (GRAFOS_FABRIC is not read where --fabric means nothing, so it is never named).
  app.parse_complete_callback([&ctx] {
    std::vector<std::string> named;
    for (const CLI::Option* o : ctx.global.without_effect) {
      if (o->count() == 0) continue;
      std::string flag = o->get_lnames().empty() ? o->get_name() : "--" + o->get_lnames().front();
      if (std::find(named.begin(), named.end(), flag) != named.end()) continue;
      named.push_back(flag);
      ctx.note(flag + " has no effect on this command; ignored");
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other refusal: scripts and operators read the first line of stderr.
    std::cerr << ctx.tool << ": error: " << e.what() << " (run with --help for more information)\n";
    for (int i = 1; i < argc; ++i)
      if (std::string_view(argv[i]) == "--json") {
        std::cout << nlohmann::json{{"error", "usage"}, {"message", e.what()}}.dump() << '\n';
        break;
      }
    return kExitUsage;
  }
  return ctx.exit_code;
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

}  // namespace grafos::tools
