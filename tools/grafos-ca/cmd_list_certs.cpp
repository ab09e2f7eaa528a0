// grafos-ca list-certs: what the CA's ledger says it issued.
#include <iostream>

#include "pki/lifecycle.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

using pki::utc;

void add_list_certs(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "list-certs",
      "List the certificates in the CA's ledger.\n"
      "One line per certificate: serial, state (reserved, issued, revoked), role, identity and "
      "expiry; --json for every field.\n"
      "Example: grafos-ca list-certs --ca-cert ca/ca.pem --expiring-within 30");
  auto req = std::make_shared<pki::ListCertsRequest>();
  auto within = std::make_shared<int>(0);
  sub->add_option("--ca-cert", req->ca_cert, "CA certificate (PEM)")->required();
  sub->add_option("--state", req->state, "Only this state: reserved, issued, revoked or void");
  sub->add_option("--role", req->role, "Only this role (tenant, cell, server, ...)");
  sub->add_option("--expiring-within", *within,
                  "Only valid, unrevoked certificates that expire within DAYS");
  sub->add_option("--ledger", req->ledger, "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, req, within, sub] {
    if (sub->count("--expiring-within") > 0) req->expiring_within_days = *within;
    std::vector<std::string> notes;
    auto rows = pki::list_certificates(*req, notes);
    if (!rows) return ctx.fail(rows.error().context("list-certs"));
    for (auto& n : notes) ctx.note(n);
    if (ctx.global.json) {
      auto arr = nlohmann::json::array();
      for (auto& e : *rows) {
        nlohmann::json j = {{"serial", e.serial},
                            {"state", pki::cert_state_name(e.state)},
                            {"role", e.role},
                            {"identity", e.identity},
                            {"subject", e.subject},
                            {"san", e.san},
                            {"not_before", utc(e.not_before)},
                            {"not_after", utc(e.not_after)},
                            {"spki_sha256", e.spki_sha256},
                            {"tbs_sha256", e.tbs_sha256},
                            {"cert_sha256", e.cert_sha256},
                            {"path", e.path}};
        if (e.reason) j["reason"] = pki::revocation_reason_name(*e.reason);
        if (e.revoked_at) j["revoked_at"] = utc(*e.revoked_at);
        arr.push_back(std::move(j));
      }
      std::cout << arr.dump() << '\n';
      return;
    }
    for (auto& e : *rows)
      std::cout << e.serial << "  " << pki::cert_state_name(e.state) << "  " << e.role << "  "
                << e.identity << "  until " << utc(e.not_after) << '\n';
    std::cout << rows->size() << (rows->size() == 1 ? " certificate\n" : " certificates\n");
  });
}

}  // namespace grafos::tools::ca
