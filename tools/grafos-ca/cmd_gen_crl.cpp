// grafos-ca gen-crl: the CA's CRL from its ledger, signed by the CA key.
#include <iostream>

#include "pki/lifecycle.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_gen_crl(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "gen-crl",
      "Generate the CA's certificate revocation list.\n"
      "An X.509 v2 CRL of every revoked certificate in the ledger (and every reserved serial "
      "an interrupted run may have issued), with a monotonic CRL number, reason codes and "
      "the CA's AKI. Linted before and verified after signing; written atomically.\n"
      "Example: grafos-ca gen-crl --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --out ca/crl.pem");
  auto req = std::make_shared<pki::GenCrlRequest>();
  auto out = std::make_shared<std::string>();
  sub->add_option("--ca-cert", req->ca_cert, "CA certificate (PEM)")->required();
  sub->add_option("--ca-key", req->ca_key, "CA key (PEM path, pkcs11: URI or TPM key)")->required();
  sub->add_option("--out", *out, "CRL file to write (PEM)")->required();
  sub->add_option("--next-update-days", req->next_update_days,
                  "Days until nextUpdate (1-366; never beyond the CA's expiry)")
      ->capture_default_str();
  sub->add_option("--ledger", req->ledger, "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  sub->add_flag("--force", req->force, "Replace an existing CRL file");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, req, out] {
    req->out = *out;
    auto r = pki::generate_crl(*req, ctx.interaction());
    if (!r) return ctx.fail(with_force_hint(r.error().context("gen-crl")));
    for (auto& n : r->notes) ctx.note(n);
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"path", r->path.string()},      {"crl_number", r->crl_number},
                                  {"revoked", r->revoked},         {"possibly_issued", r->reserved},
                                  {"this_update", r->this_update}, {"next_update", r->next_update},
                                  {"checkpoint", r->checkpoint}}
                       .dump()
                << '\n';
      return;
    }
    std::cout << "wrote " << r->path.string() << ": CRL number " << r->crl_number << ", "
              << r->revoked << " revoked";
    if (r->reserved) std::cout << " + " << r->reserved << " possibly issued";
    std::cout << ", next update " << r->next_update << "\ntranscript checkpoint:\n"
              << r->checkpoint;
  });
}

}  // namespace grafos::tools::ca
