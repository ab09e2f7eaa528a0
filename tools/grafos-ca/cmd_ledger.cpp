// grafos-ca ledger check: is the CA's ledger sound, and did an interrupted run leave a serial
// reserved (possibly issued)?
#include <iostream>

#include "pki/lifecycle.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_ledger(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "ledger", "Check the CA's ledger, or confirm that a reserved serial was never issued.");
  sub->require_subcommand(1);
  auto* check = sub->add_subcommand(
      "check",
      "Check the CA's ledger.\n"
      "Runs SQLite's integrity check, compares each issued certificate still at its path with "
      "the SHA-256 the ledger recorded, and lists reserved serials: an interrupted run may have "
      "issued them, so the next CRL lists them (ledger void confirms one was not). Exit 0 when "
      "consistent, 1 when a problem or an "
      "orphan was found.\n"
      "Example: grafos-ca ledger check --ca-cert ca/ca.pem");
  auto req = std::make_shared<pki::LedgerCheckRequest>();
  auto repair = std::make_shared<bool>(false);
  check->add_option("--ca-cert", req->ca_cert, "CA certificate (PEM)")->required();
  check->add_option("--ledger", req->ledger,
                    "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  check->add_flag("--repair", *repair,
                  "Confirm as issued the reserved serials whose certificate is on disk (a run "
                  "killed after writing it), recording them in the transcript; needs --ca-key");
  check->add_option("--ca-key", req->repair_key,
                    "CA key (PEM path, pkcs11: URI or TPM key) for --repair: signs the "
                    "transcript checkpoint");
  add_global_options(*check, ctx.global, kFlagJson);
  check->footer(kExitStatusFooter);
  check->callback([&ctx, req, repair] {
    if (*repair != !req->repair_key.empty())
      return ctx.fail(make_error(Errc::usage, "ledger check: --repair and --ca-key go together"));
    auto r = pki::check_ledger(*req, ctx.interaction());
    if (!r) return ctx.fail(r.error().context("ledger check"));
    for (auto& n : r->notes) ctx.note(n);
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
                     "issued it; the next CRL lists it (ledger void, if you know it was not)\n";
      for (auto& o : r->recoverable)
        std::cout << "recoverable: serial " << o.serial << " (" << o.identity << ") is on disk at "
                  << o.path << ": a run was killed after writing it (--repair --ca-key confirms "
                  << "it)\n";
      for (auto& o : r->confirmed)
        std::cout << "confirmed: serial " << o.serial << " (" << o.identity << ") at " << o.path
                  << '\n';
      std::cout << r->rows << " ledger rows, " << r->orphans.size() << " orphans, "
                << r->recoverable.size() << " recoverable, " << r->confirmed.size()
                << " confirmed, " << r->problems.size() << " problems\n";
    }
    if (!r->problems.empty() || !r->orphans.empty() || !r->recoverable.empty())
      ctx.exit_code = kExitMismatch;
  });

  auto* voidc = sub->add_subcommand(
      "void",
      "Confirm that a reserved serial was never issued.\n"
      "A run interrupted after reserving a serial may have signed its certificate, so the "
      "serial stays on every CRL. When you know it was not issued (no certificate with that "
      "serial left the machine: its output folder holds none and nothing was copied), mark it "
      "void: it leaves the next CRL, stays in the ledger so it is never drawn again, and the "
      "change is recorded in the transcript with a checkpoint signed by the CA key. A serial "
      "whose certificate is on disk is refused (use ledger check --repair).\n"
      "Example: grafos-ca ledger void --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --serial "
      "5f3a... --note 'run killed before signing; out/t7 empty'");
  auto vreq = std::make_shared<pki::VoidRequest>();
  voidc->add_option("--ca-cert", vreq->ca_cert, "CA certificate (PEM)")->required();
  voidc
      ->add_option("--ca-key", vreq->ca_key,
                   "CA key (PEM path, pkcs11: URI or TPM key): signs the transcript checkpoint")
      ->required();
  voidc->add_option("--serial", vreq->serial, "The reserved serial (hex)")->required();
  voidc->add_option("--note", vreq->note,
                    "Why you know it was not issued (recorded in the transcript)");
  voidc->add_option("--ledger", vreq->ledger,
                    "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  add_global_options(*voidc, ctx.global, kFlagJson);
  voidc->footer(kExitStatusFooter);
  voidc->callback([&ctx, vreq] {
    auto r = pki::void_reserved_serial(*vreq, ctx.interaction());
    if (!r) return ctx.fail(r.error().context("ledger void"));
    for (auto& n : r->notes) ctx.note(n);
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"serial", r->entry.serial},
                                  {"identity", r->entry.identity},
                                  {"state", "void"},
                                  {"checkpoint", r->checkpoint}}
                       .dump()
                << '\n';
      return;
    }
    std::cout << "serial " << r->entry.serial << " (" << r->entry.identity
              << ") is void: the next CRL no longer lists it\ntranscript checkpoint:\n"
              << r->checkpoint;
  });
}

}  // namespace grafos::tools::ca
