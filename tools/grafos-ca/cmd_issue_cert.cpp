// grafos-ca issue-cert: one client certificate (tenant, fabric-observer, fabric-admin, cell,
// provenance-signer, timestamp-authority), from a CSR, or a whole batch file in one CA key session.
#include <algorithm>
#include <iostream>
#include <string_view>
#include <vector>

#include "pki/ceremony.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {
namespace {

struct IssueCertOptions {
  std::string ca_cert, ca_key, tenant, role = "tenant", provider, cell_id, pipeline, out = ".";
  std::string csr, batch, ledger;
  std::string name;  // --name of --role timestamp-authority
  int days = 365;
  bool force = false;
};

// The flag of each identity field; which fields a role takes is pki's table (identity_fields).
struct FieldFlag {
  pki::IdentityField field;
  const char* flag;
  std::string IssueCertOptions::*value;
};
constexpr FieldFlag kFieldFlags[] = {
    {pki::IdentityField::provider, "--provider", &IssueCertOptions::provider},
    {pki::IdentityField::cell_id, "--cell-id", &IssueCertOptions::cell_id},
    {pki::IdentityField::pipeline, "--pipeline", &IssueCertOptions::pipeline},
    {pki::IdentityField::tenant, "--tenant", &IssueCertOptions::tenant},
    {pki::IdentityField::tsa_name, "--name", &IssueCertOptions::name},
};

// The one leaf role that takes `field` ("--provider is only used with --role cell").
pki::Role role_taking(pki::IdentityField field) {
  for (pki::Role r : {pki::Role::tenant, pki::Role::cell, pki::Role::provenance_signer,
                      pki::Role::timestamp_authority})
    for (pki::IdentityField f : pki::identity_fields(r))
      if (f == field) return r;
  return pki::Role::tenant;
}

// Checks the role flags (usage errors name the flags) and hands their values to
// pki::make_identity in the role's field order.
Result<pki::Identity> identity_from_flags(const IssueCertOptions& o, const CLI::App& sub,
                                          const Context& ctx) {
  auto role = pki::parse_leaf_role(o.role);
  if (!role) return std::move(role).error().context("--role");
  const std::string role_text(pki::role_name(*role));
  auto fields = pki::identity_fields(*role);
  auto takes = [&](pki::IdentityField f) {
    return std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  std::vector<std::string_view> values;
  std::string flags;  // the role's flags, "--provider and --cell-id"
  bool missing = false;
  for (pki::IdentityField f : fields)
    for (const auto& ff : kFieldFlags)
      if (ff.field == f) {
        missing |=
            f == pki::IdentityField::tenant ? (o.*ff.value).empty() : sub.count(ff.flag) == 0;
        flags += std::string(flags.empty() ? "" : " and ") + ff.flag;
        values.push_back(o.*ff.value);
      }
  for (const auto& ff : kFieldFlags) {
    if (sub.count(ff.flag) == 0 || takes(ff.field)) continue;
    if (ff.field != pki::IdentityField::tenant)
      return Error{Errc::usage, std::string(ff.flag) + " is only used with --role " +
                                    std::string(pki::role_name(role_taking(ff.field)))};
    if (!fields.empty()) return Error{Errc::usage, "--tenant is not used with --role " + role_text};
    ctx.note("--tenant is ignored for --role " + role_text +
             ": that principal is fabric-wide and has no tenant scope");
  }
  if (missing) {
    if (*role == pki::Role::tenant)
      return Error{Errc::usage, "--tenant is required for --role tenant"};
    return Error{Errc::usage, "--role " + role_text + " requires " + flags};
  }
  return pki::make_identity(*role, values);
}

void run_batch(const IssueCertOptions& o, const CLI::App& sub, Context& ctx) {
  for (const char* flag :
       {"--role", "--tenant", "--provider", "--cell-id", "--pipeline", "--csr", "--name"})
    if (sub.count(flag) > 0)
      return ctx.fail(Error{Errc::usage, std::string("--batch takes the identities from its file; "
                                                     "do not combine it with ") +
                                             flag});
  pki::BatchRequest req{o.ca_cert,    o.ca_key, o.batch,  o.out,
                        std::nullopt, o.force,  o.ledger, flag_names()};
  if (sub.count("--days") > 0) req.days = o.days;
  std::vector<std::string> json;
  auto n = pki::issue_batch(req, ctx.interaction(), [&](const pki::WrittenCert& w) {
    if (ctx.global.json) json.push_back(written_json(w));
  });
  if (!n) return ctx.fail(with_force_hint(n.error().context("issue-cert --batch")));
  for (auto& note : n->notes) ctx.note(note);
  if (ctx.global.json) {
    std::cout << '[';
    for (size_t i = 0; i < json.size(); ++i) std::cout << (i ? ",\n" : "") << json[i];
    std::cout << "]\n";
    // The array stays an array of certificates: the checkpoint goes to the custodian on stderr.
    if (!n->checkpoint.empty()) std::cerr << "transcript checkpoint:\n" << n->checkpoint;
  } else {
    std::cout << "issued " << n->issued << " certificates into " << o.out << '\n';
    if (!n->checkpoint.empty()) std::cout << "transcript checkpoint:\n" << n->checkpoint;
  }
}

}  // namespace

void add_issue_cert(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "issue-cert",
      "Issue a client certificate (tenant, fabric-observer, fabric-admin, cell or "
      "provenance-signer), signed by the fabric CA.\n"
      "The certificate embeds the principal's identity as a URI SAN: urn:fabricbios:tenant:<name>, "
      "urn:fabricbios:fabric-observer, urn:fabricbios:fabric-admin, "
      "urn:fabricbios:cell:<provider>:<cell_id>, urn:fabricbios:provenance-signer:<pipeline> or "
      "urn:fabricbios:timestamp-authority:<name>.\n"
      "Output files: client-key.pem - client private key (not written with --csr) client.pem - "
      "client certificate\n"
      "Example: grafos-ca issue-cert --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --tenant acme "
      "--out /home/acme/.grafos/");
  auto o = std::make_shared<IssueCertOptions>();
  sub->add_option("--ca-cert", o->ca_cert, "Path to CA certificate (PEM)")->required();
  sub->add_option("--ca-key", o->ca_key,
                  "CA private key: a PEM path, a PKCS#11 URI (pkcs11:token=...;object=...?"
                  "module-path=...&pin-source=file:...) or a TPM key (TSS2 PEM or handle:0x81...)")
      ->required();
  sub->add_option("--tenant", o->tenant,
                  "Tenant name. Required for --role tenant (default); ignored for --role "
                  "fabric-observer and --role fabric-admin since those principals are fabric-wide "
                  "and have no tenant scope. 1-63 of [A-Za-z0-9._-], starting with a letter or "
                  "digit");
  sub->add_option("--role", o->role,
                  "Principal role encoded in the cert's URI SAN: tenant (default) -> "
                  "urn:fabricbios:tenant:<tenant>; fabric-observer -> "
                  "urn:fabricbios:fabric-observer (cross-tenant read-only); fabric-admin -> "
                  "urn:fabricbios:fabric-admin; cell -> urn:fabricbios:cell:<provider>:<cell_id> "
                  "(cell agents); provenance-signer -> "
                  "urn:fabricbios:provenance-signer:<pipeline> (EKU codeSigning, signs image "
                  "provenance); timestamp-authority -> "
                  "urn:fabricbios:timestamp-authority:<name> (EKU timeStamping only, critical: "
                  "an RFC 3161 TSA for grafos-registry serve --tsa-cert)")
      ->capture_default_str();
  sub->add_option("--provider", o->provider,
                  "Provider name for --role cell. Must be lowercase letters, digits, or '-' "
                  "(matches the orchestrator's provider name rules)");
  sub->add_option("--cell-id", o->cell_id,
                  "Numeric cell id for --role cell. Must be a u64 decimal");
  sub->add_option("--pipeline", o->pipeline,
                  "Pipeline name for --role provenance-signer (tenant name grammar)");
  sub->add_option("--name", o->name,
                  "TSA name for --role timestamp-authority (tenant name grammar)");
  sub->add_option("--out", o->out, "Output directory for client-key.pem and client.pem")
      ->capture_default_str();
  sub->add_option("--days", o->days, "Validity in days (never beyond the CA certificate's)")
      ->capture_default_str()
      ->check(days_range());
  sub->add_option("--csr", o->csr,
                  "Sign this PKCS#10 CSR (PEM or DER) instead of generating a key: its signature "
                  "must verify and its key must be EC P-256/P-384 or RSA 2048-4096; its requested "
                  "extensions are ignored. Only client.pem is written");
  sub->add_option("--batch", o->batch,
                  "Issue one certificate per line of FILE with one CA key session, each into "
                  "its own folder under --out. Lines: 'tenant <name>', 'fabric-observer', "
                  "'fabric-admin', 'cell <provider> <cell_id>', 'provenance-signer <pipeline>', "
                  "'server <san>[,<san>...]', 'timestamp-authority <tsa>'; blank lines and '#' "
                  "comments are ignored. Folders: "
                  "tenant-<name>, fabric-observer, fabric-admin, cell-<provider>-<cell_id>, "
                  "provenance-signer-<pipeline>, server-<first SAN>, timestamp-authority-<tsa>. "
                  "The whole file is validated "
                  "before anything is issued")
      ->option_text("FILE");
  sub->add_flag("--force", o->force, "Replace existing output files");
  sub->add_option("--ledger", o->ledger,
                  "The CA's ledger, where every issued certificate is recorded (default: "
                  "ca-ledger.db beside --ca-cert; created on first use)");
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(kExitStatusFooter);
  sub->callback([&ctx, o, sub] {
    if (!o->batch.empty()) return run_batch(*o, *sub, ctx);
    auto id = identity_from_flags(*o, *sub, ctx);
    if (!id) return ctx.fail(id.error().context("issue-cert"));
    pki::LeafRequest req{o->ca_cert, o->ca_key, std::move(*id), o->out,      o->days,
                         o->csr,     o->force,  o->ledger,      flag_names()};
    auto w = pki::issue_leaf(req, ctx.interaction());
    if (!w) return ctx.fail(with_force_hint(w.error().context("issue-cert")));
    print_written(ctx, {*w});
  });
}

}  // namespace grafos::tools::ca
