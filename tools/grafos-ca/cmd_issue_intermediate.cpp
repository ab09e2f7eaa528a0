// grafos-ca issue-intermediate: the online enrollment intermediate of the fabric CA, signed by the
// offline root (DESIGN.md section 10).
#include <iostream>

#include "pki/ceremony.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_issue_intermediate(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "issue-intermediate",
      "Issue the fabric's online enrollment intermediate CA, signed by the root.\n"
      "The root stays offline; grafos-registry signs federation enrollment CSRs with the "
      "intermediate's key. Profile: CN \"fabricBIOS Enrollment Intermediate CA\", SAN "
      "URI:urn:fabricbios:enrollment-intermediate, CA:TRUE pathLen 0, keyCertSign + cRLSign, "
      "extendedKeyUsage clientAuth only (it cannot issue server or code-signing certificates). "
      "Recorded in the root's ledger and transcript.\n"
      "Output files: intermediate.pem - the intermediate certificate; intermediate-key.pem - its "
      "key, only when --key is left out (mode 0600)\n"
      "Example: grafos-ca issue-intermediate --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --key "
      "'pkcs11:token=registry;object=enroll-ca?module-path=/usr/lib/softhsm/libsofthsm2.so"
      "&pin-source=file:/run/registry.pin' --out enroll/");
  auto req = std::make_shared<pki::IntermediateRequest>();
  auto out = std::make_shared<std::string>(".");
  sub->add_option("--ca-cert", req->ca_cert, "Path to the root CA certificate (PEM)")->required();
  sub->add_option("--ca-key", req->ca_key,
                  "Root CA private key: a PEM path, a PKCS#11 URI (pkcs11:token=...;object=...?"
                  "module-path=...&pin-source=file:...) or a TPM key (TSS2 PEM or handle:0x81...)")
      ->required();
  sub->add_option("--key", req->key,
                  "The intermediate's key: a PEM path or a PKCS#11 URI. A key that does not exist "
                  "is created (an EC P-256 file of mode 0600, or generated inside the token); an "
                  "existing one is used (renewal over the same key). Default: "
                  "<out>/intermediate-key.pem");
  sub->add_option("--out", *out, "Output directory for intermediate.pem")->capture_default_str();
  sub->add_option("--days", req->days,
                  "Validity in days (never beyond the root certificate's notAfter)")
      ->capture_default_str()
      ->check(days_range());
  sub->add_flag("--force", req->force,
                "Replace an existing intermediate.pem (a key is never replaced)");
  sub->add_option("--ledger", req->ledger,
                  "The root CA's ledger, where the intermediate is recorded (default: "
                  "ca-ledger.db beside --ca-cert; created on first use)");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, req, out] {
    req->out = *out;
    auto w = pki::issue_intermediate(*req, ctx.interaction());
    if (!w) return ctx.fail(with_force_hint(std::move(w).error().context("issue-intermediate")));
    print_written(ctx, {*w});
    if (!ctx.global.json && w->private_key.empty())
      std::cout << "intermediate key: " << w->key_ref << '\n';
    if (!ctx.global.json) std::cout << "intermediate SHA-256 fingerprint: " << w->sha256 << '\n';
  });
}

}  // namespace grafos::tools::ca
