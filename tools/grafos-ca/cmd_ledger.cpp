// grafos-ca ledger check: is the CA's ledger sound, and did an interrupted run leave a serial
// reserved (possibly issued)?
#include <iostream>

#include "pki/lifecycle.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_ledger(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("ledger", "Check the CA's ledger.");
  sub->require_subcommand(1);
  auto* check = sub->add_subcommand(
      "check",
      "Check the CA's ledger.\n"
      "Runs SQLite's integrity check, compares each issued certificate still at its path with "
      "the SHA-256 the ledger recorded, and lists reserved serials: an interrupted run may have "
      "issued them, so the next CRL lists them. Exit 0 when consistent, 1 when a problem or an "
      "orphan was found.\n"
      "Example: grafos-ca ledger check --ca-cert ca/ca.pem");
  auto ca_cert = std::make_shared<std::string>();
  auto ledger = std::make_shared<std::string>();
  check->add_option("--ca-cert", *ca_cert, "CA certificate (PEM)")->required();
  check->add_option("--ledger", *ledger, "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  add_global_options(*check, ctx.global);
  check->footer(kExitStatusFooter);
  check->callback([&ctx, ca_cert, ledger] {
    auto r = pki::check_ledger(*ca_cert, *ledger);
    if (!r) return ctx.fail(r.error().context("ledger check"));
    if (ctx.global.json) {
      auto orphans = nlohmann::json::array();
      for (auto& o : r->orphans)
        orphans.push_back({{"serial", o.serial}, {"identity", o.identity}});
      std::cout << nlohmann::json{{"rows", r->rows},
                                  {"orphans", orphans},
                                  {"problems", r->problems},
                                  {"consistent", r->problems.empty() && r->orphans.empty()}}
                       .dump()
                << '\n';
    } else {
      for (auto& p : r->problems) std::cout << "problem: " << p << '\n';
      for (auto& o : r->orphans)
        std::cout << "orphan: serial " << o.serial << " (" << o.identity
                  << ") is reserved: a run was interrupted after reserving it and may have "
                     "issued it; the next CRL lists it\n";
      std::cout << r->rows << " ledger rows, " << r->orphans.size() << " orphans, "
                << r->problems.size() << " problems\n";
    }
    if (!r->problems.empty() || !r->orphans.empty()) ctx.exit_code = kExitMismatch;
  });
}

}  // namespace grafos::tools::ca
