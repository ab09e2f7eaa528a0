// grafos-ca issue-server-cert: a TLS server certificate with IP and DNS SANs.
#include "pki/ceremony.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_issue_server_cert(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "issue-server-cert",
      "Issue a TLS server certificate (scheduler, orchestrator, registry), signed by the fabric "
      "CA.\n"
      "The certificate includes IP address and/or DNS SANs so that clients can verify the "
      "server's identity during the TLS handshake. Its CN is the first SAN.\n"
      "Output files: server-key.pem - server private key (not written with --csr) server.pem - "
      "server certificate\n"
      "Example: grafos-ca issue-server-cert --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --san "
      "192.168.0.55,10.10.0.20,127.0.0.1 --out /etc/fabricbios/tls/");
  struct Options {
    std::string ca_cert, ca_key, out = ".", csr, ledger;
    std::vector<std::string> san;
    int days = 365;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("--ca-cert", o->ca_cert, "Path to CA certificate (PEM)")->required();
  sub->add_option("--ca-key", o->ca_key,
                  "CA private key: a PEM path, a PKCS#11 URI or a TPM key (TSS2 PEM or "
                  "handle:0x81...)")
      ->required();
  sub->add_option("--san", o->san,
                  "Subject alternative names (IP addresses and DNS names, comma-separated; may be "
                  "repeated). DNS names are LDH labels, '*.' only as the whole leftmost label; "
                  "empty entries and duplicates are refused")
      ->required()
      ->allow_extra_args(false);  // one value per --san; no CLI11 "[a,b]" list syntax
  sub->add_option("--out", o->out, "Output directory for server-key.pem and server.pem")
      ->capture_default_str();
  sub->add_option("--days", o->days, "Validity in days (never beyond the CA certificate's)")
      ->capture_default_str()
      ->check(days_range());
  sub->add_option("--csr", o->csr,
                  "Sign this PKCS#10 CSR (PEM or DER) instead of generating a key (EC "
                  "P-256/P-384 or RSA 2048-4096; requested extensions are ignored)");
  sub->add_flag("--force", o->force, "Replace existing output files");
  sub->add_option("--ledger", o->ledger,
                  "The CA's ledger, where every issued certificate is recorded (default: "
                  "ca-ledger.db beside --ca-cert; created on first use)");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, o] {
    auto id = pki::make_server_identity(o->san);
    if (!id) return ctx.fail(id.error().context("issue-server-cert: --san"));
    pki::LeafRequest req{o->ca_cert, o->ca_key, std::move(*id), o->out,      o->days,
                         o->csr,     o->force,  o->ledger,      flag_names()};
    auto w = pki::issue_leaf(req, ctx.interaction());
    if (!w) return ctx.fail(with_force_hint(w.error().context("issue-server-cert")));
    print_written(ctx, {*w});
  });
}

}  // namespace grafos::tools::ca
