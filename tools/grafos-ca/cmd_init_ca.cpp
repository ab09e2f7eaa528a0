// grafos-ca init-ca: create the fabric CA key (PEM file or PKCS#11 token) and ca.pem.
#include <iostream>

#include "pki/ceremony.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_init_ca(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "init-ca",
      "Generate a new fabric CA (key + self-signed certificate).\n"
      "Creates an ECDSA P-256 CA key pair and self-signed certificate. The CA is used to sign all "
      "client and server certificates in the fabric.\n"
      "Output files: ca-key.pem - CA private key (keep secure!; not written when --key names a "
      "PKCS#11 token) ca.pem - CA certificate (distribute to all hosts)\n"
      "Example: grafos-ca init-ca --out /etc/fabricbios/ca --days 3650");
  auto req = std::make_shared<pki::InitCaRequest>();
  auto out = std::make_shared<std::string>(".");
  sub->add_option("--out", *out, "Output directory for ca-key.pem and ca.pem")
      ->capture_default_str();
  sub->add_option("--cn", req->common_name, "CA common name")->capture_default_str();
  sub->add_option("--days", req->days, "Validity in days")
      ->capture_default_str()
      ->check(days_range());
  sub->add_option("--key", req->key,
                  "Where the CA key is created: a PEM path (default: <out>/ca-key.pem, mode "
                  "0600) or a PKCS#11 URI (pkcs11:token=...;object=...?module-path=...&pin-source="
                  "file:...), in which case the key is generated inside the token and no key file "
                  "is written");
  sub->add_option("--path-len", req->path_len,
                  "basicConstraints pathLenConstraint of the CA certificate (0-16)")
      ->capture_default_str();
  sub->add_flag("--force", req->force, "Replace an existing ca.pem / ca-key.pem");
  sub->add_flag("--replace-key", req->replace_key,
                "Replace an existing key object of the same name in the token");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, req, out] {
    req->out = *out;
    req->names = flag_names();
    auto w = pki::init_ca(*req, ctx.interaction());
    if (!w) {
      Error e = std::move(w).error().context("init-ca");
      // An existing key file is replaced like ca.pem, with --force; a token object only with
      // --replace-key (an existing ca.pem is refused before the key is made, and named so).
      if (e.code == Errc::exists && hsm::classify_key_ref(req->key) == hsm::Backend::pkcs11 &&
          e.message.find("refusing to overwrite") == std::string::npos) {
        e.message += " (use --replace-key to destroy it and create a new key)";
        return ctx.fail(e);
      }
      return ctx.fail(with_force_hint(std::move(e)));
    }
    print_written(ctx, {*w});
  });
}

}  // namespace grafos::tools::ca
