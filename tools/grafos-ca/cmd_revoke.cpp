// grafos-ca revoke: mark one certificate revoked in the CA's ledger and record it in the
// transcript (the next gen-crl lists it).
#include <iostream>

#include "pki/lifecycle.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_revoke(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "revoke",
      "Revoke a certificate this CA issued.\n"
      "Marks it revoked in the CA's ledger (ca-ledger.db beside ca.pem) and appends the "
      "revocation to the ceremony transcript with a checkpoint signed by the CA key. The next "
      "gen-crl lists it. Revoking twice, an unknown serial or the CA itself is refused.\n"
      "Example: grafos-ca revoke --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --serial 5f3a... "
      "--reason keyCompromise");
  auto req = std::make_shared<pki::RevokeRequest>();
  sub->add_option("--ca-cert", req->ca_cert, "CA certificate (PEM)")->required();
  sub->add_option("--ca-key", req->ca_key,
                  "CA key (PEM path, pkcs11: URI or TPM key): signs the transcript checkpoint")
      ->required();
  auto* serial = sub->add_option("--serial", req->serial, "Serial number (hex) to revoke");
  auto* cert = sub->add_option("--cert", req->cert, "Or: the certificate file to revoke");
  serial->excludes(cert);
  sub->add_option("--reason", req->reason,
                  "RFC 5280 reason: unspecified, keyCompromise, cACompromise, "
                  "affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, "
                  "aACompromise")
      ->capture_default_str();
  sub->add_option("--invalidity-date", req->invalidity_date,
                  "When the key is known or suspected to have been compromised (RFC 3339 UTC, "
                  "e.g. 2026-12-01T10:00:00Z)");
  sub->add_option("--ledger", req->ledger, "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, req] {
    auto r = pki::revoke_certificate(*req, ctx.interaction());
    if (!r) return ctx.fail(r.error().context("revoke"));
    for (auto& n : r->notes) ctx.note(n);
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"serial", r->entry.serial},
                                  {"identity", r->entry.identity},
                                  {"state", "revoked"},
                                  {"reason", pki::revocation_reason_name(*r->entry.reason)},
                                  {"checkpoint", r->checkpoint}}
                       .dump()
                << '\n';
      return;
    }
    std::cout << "revoked serial " << r->entry.serial << " (" << r->entry.identity << "), reason "
              << pki::revocation_reason_name(*r->entry.reason)
              << "; run gen-crl to publish it\ntranscript checkpoint:\n"
              << r->checkpoint;
  });
}

}  // namespace grafos::tools::ca
