// What the grafos-admin subcommands share: connection flags, confirmation, output, exit codes.
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {

void add_connection_options(CLI::App& sub, ConnectionOptions& o, const std::string& scheduler_help,
                            const std::string& bearer_help) {
  sub.add_option("--scheduler", o.scheduler, scheduler_help + " (https://HOST:PORT)")
      ->envname("GRAFOS_SCHEDULER")
      ->required();
  sub.add_option("--cert", o.cert, "Client cert for mTLS to scheduler (PEM, chain allowed)")
      ->envname("GRAFOS_CERT");
  sub.add_option("--key", o.key,
                 "Client key for mTLS to scheduler: a PEM file (passphrase from "
                 "GRAFOS_KEY_PASSPHRASE or the TTY) or a pkcs11: URI (PIN from "
                 "GRAFOS_PKCS11_PIN or the TTY)")
      ->envname("GRAFOS_KEY");
  sub.add_option("--ca", o.ca,
                 "CA cert for verifying scheduler (the fabric ca.pem; no system bundle is used)")
      ->envname("GRAFOS_CA");
  sub.add_option("--bearer", o.bearer,
                 bearer_help +
                     ". Prefer GRAFOS_BEARER or --bearer-file: argv is visible to "
                     "other users")
      ->envname("GRAFOS_BEARER");
  sub.add_option("--bearer-file", o.bearer_file,
                 "Read the bearer token from this file (first line) instead of --bearer")
      ->envname("GRAFOS_BEARER_FILE");
  sub.add_option("--timeout", o.timeout_s,
                 "Seconds allowed for the whole request, connection included (connect alone: at "
                 "most 10)")
      ->envname("GRAFOS_TIMEOUT")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
}

Result<admin::Client> open_client(Context& ctx, ConnectionOptions& o) {
  // What the library would refuse, said in terms of this tool's flags.
  if (o.scheduler.empty())
    return make_error(Errc::usage, "no scheduler URL: pass --scheduler or set GRAFOS_SCHEDULER");
  if (o.ca.empty())
    return make_error(Errc::usage,
                      "no CA certificate to verify the scheduler with: pass --ca or set GRAFOS_CA");
  if (std::error_code ec; !std::filesystem::is_regular_file(o.ca, ec))
    return make_error(Errc::io, "--ca '" + o.ca + "' is not a readable file");
  if (o.cert.empty() != o.key.empty())
    return make_error(Errc::usage, o.cert.empty() ? "--key was given without --cert"
                                                  : "--cert was given without --key");
  admin::ClientOptions co;
  co.scheduler = o.scheduler;
  co.cert = o.cert;
  co.key = o.key;
  co.ca = o.ca;
  co.timeout_ms = static_cast<long>(o.timeout_s * 1000);
  co.connect_timeout_ms = std::min(co.timeout_ms, 10'000L);
  co.interaction = ctx.interaction();
  if (!o.bearer.empty() && !o.bearer_file.empty())
    return make_error(Errc::usage,
                      "give the bearer token once: --bearer (GRAFOS_BEARER) or "
                      "--bearer-file (GRAFOS_BEARER_FILE), not both");
  if (!o.bearer.empty()) {
    co.bearer = SecretString(o.bearer);
    OPENSSL_cleanse(o.bearer.data(), o.bearer.size());
    o.bearer.clear();
  } else if (!o.bearer_file.empty()) {
    auto s = read_secret_file(o.bearer_file);
    if (!s) return Error{Errc::io, "--bearer-file: " + s.error().message};
    if (s->empty())
      return make_error(Errc::usage, "--bearer-file '" + o.bearer_file + "' is empty");
    co.bearer = std::move(*s);
  }
  auto c = admin::Client::open(std::move(co));
  if (!c && c.error().message.starts_with("client key: "))
    return make_error(c.error().code, "--key" + c.error().message.substr(10));
  if (!c && c.error().code == Errc::invalid_input && !o.cert.empty())
    return std::move(c).error().context("--cert");
  return c;
}

Result<void> confirm(const std::string& question, bool yes) {
  if (yes) return ok();
  if (!::isatty(STDIN_FILENO))
    return make_error(Errc::usage, question.substr(0, question.find('?')) +
                                       ": refusing without confirmation because stdin is not a "
                                       "terminal; pass --yes to confirm");
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  if (answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes")
    return ok();
  return make_error(Errc::mismatch, "aborted: nothing was changed");
}

void print_table(const Context& ctx, const admin::Rows& rows, int alert_col) {
  std::string text = format_table(rows);
  if (!ctx.color_stdout()) {
    std::cout << text;
    return;
  }
  std::istringstream in(text);
  std::string line;
  size_t i = 0;
  while (std::getline(in, line)) {
    bool alert = false;
    if (i > 0 && alert_col >= 0 && i < rows.size() &&
        static_cast<size_t>(alert_col) < rows[i].size()) {
      const auto& v = rows[i][static_cast<size_t>(alert_col)];
      alert = v == "denied" || v == "error" || v == "failed" || v == "disabled";
    }
    if (i == 0)
      std::cout << "\033[1m" << line << "\033[0m\n";
    else if (alert)
      std::cout << "\033[31m" << line << "\033[0m\n";
    else
      std::cout << line << '\n';
    ++i;
  }
}

void print_json(const admin::Reply& reply) {
  std::cout << reply.body;
  if (reply.body.empty() || reply.body.back() != '\n') std::cout << '\n';
}

void print_sources(const Context& ctx, const nlohmann::json& answer) {
  auto it = answer.find("sources");
  if (it == answer.end() || !it->is_array() || it->empty()) return;
  auto rows = admin::source_rows(*it);
  if (!rows) {
    ctx.note(rows.error().message);
    return;
  }
  std::cout << '\n';
  print_table(ctx, *rows, 1);
  for (size_t i = 1; i < rows->size(); ++i)
    if ((*rows)[i][1] == "failed")
      std::cerr << ctx.tool << ": warning: source " << (*rows)[i][0]
                << " did not answer; its entries are missing: " << (*rows)[i][3] << '\n';
}

std::string next_step_hint(const Error& e) {
  switch (e.code) {
    case Errc::unauthorized:
      return "check --cert/--key or the bearer token (--bearer, --bearer-file, GRAFOS_BEARER)";
    case Errc::quota_below_usage:
      return "use --force to set it anyway (existing leases are not revoked; new admissions wait "
             "until usage drops under the quota)";
    case Errc::tenant_has_active_leases:
      return "release the leases or wait for them to expire, or use --force to release them "
             "server-side";
    case Errc::tenant_exists:
      return "choose another name, or use set-quota to change the existing tenant";
    case Errc::lease_not_fenced:
      return "list-fenced-leases shows the fenced ones";
    case Errc::network:
      if (e.message.starts_with("timed out") || e.message.find(": timed out") != std::string::npos)
        return "raise --timeout if the server is slow";
      return {};
    default:
      return {};
  }
}

int admin_exit_status(const Error& e) {
  // Every refusal of the server's 409 family is 14 (HTTP 409), tenant_exists included.
  if (e.code == Errc::tenant_exists) return kExitConflict;
  return exit_status_for(e.code);
}

void fail(Context& ctx, const Error& e) {
  std::string hint = next_step_hint(e);
  ctx.fail(hint.empty() ? e : Error{e.code, e.message + "; " + hint});
  ctx.exit_code = admin_exit_status(e);
}

}  // namespace grafos::tools::admin_cli
