// grafos-admin timestamp: an RFC 3161 timestamp over a provenance bundle's signature, verified and
// stored in the bundle (admin/timestamp.hpp).
#include <ctime>
#include <iostream>

#include "admin/timestamp.hpp"
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  admin::TimestampRequest req;
  double timeout_s = 30;
};

std::string utc_text(std::time_t t) {
  char buf[32] = {};
  struct tm tm {};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

void add_timestamp(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "timestamp",
      "Timestamp a signed provenance bundle with an RFC 3161 TSA.\n"
      "Sends a query with the SHA-256 of the bundle's DSSE signature (Sigstore's rule), a random "
      "nonce and certReq, verifies the reply (status granted, nonce, imprint, signature, the TSA "
      "certificate's timeStamping EKU and its chain to --tsa-ca, else --ca) and stores the token "
      "in verificationMaterial.timestampVerificationData.rfc3161Timestamps. The fabric's TSA is "
      "grafos-registry serve --tsa-cert (https://HOST:PORT/api/v1/timestamp, with --cert/--key); "
      "any other RFC 3161 TSA works over http:// or https://. Nothing is written on a refusal.\n"
      "Example: grafos-admin timestamp --tsa https://registry:9100/api/v1/timestamp --ca "
      "ca/ca.pem --cert client.pem --key client-key.pem --input bundle.json");
  add_global_options(*sub, ctx.global);
  auto& r = o->req;
  sub->add_option("--tsa", r.tsa_url, "URL of the RFC 3161 TSA (http:// or https://)")->required();
  sub->add_option("--input", r.input, "The signed provenance bundle (Sigstore bundle v0.3)")
      ->required();
  sub->add_option("--output", r.output,
                  "Write the timestamped bundle here (default: replace --input atomically)");
  sub->add_flag("--force", r.force, "Replace an existing --output");
  sub->add_option("--tsa-ca", r.tsa_ca,
                  "CA certificate(s) (PEM) the TSA certificate must chain to (default: --ca, the "
                  "fabric CA)");
  sub->add_option("--ca", r.ca,
                  "The fabric ca.pem: verifies an https:// TSA and, without --tsa-ca, the TSA "
                  "certificate")
      ->envname("GRAFOS_CA");
  sub->add_option("--cert", r.cert, "Client cert for mTLS to an https:// TSA (PEM, chain allowed)")
      ->envname("GRAFOS_CERT");
  sub->add_option("--key", r.key,
                  "Key of --cert: a PEM file (passphrase from GRAFOS_KEY_PASSPHRASE or the TTY) "
                  "or a pkcs11: URI (PIN from GRAFOS_PKCS11_PIN or the TTY)")
      ->envname("GRAFOS_KEY");
  sub->add_option("--timeout", o->timeout_s,
                  "Seconds allowed for the whole request, connection included (connect alone: at "
                  "most 10)")
      ->envname("GRAFOS_TIMEOUT")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  sub->callback([o, &ctx] {
    auto& req = o->req;
    req.timeout_ms = static_cast<long>(o->timeout_s * 1000);
    req.connect_timeout_ms = std::min(req.timeout_ms, 10'000L);
    req.interaction = ctx.interaction();
    if (req.tsa_ca.empty() && req.ca.empty())
      return fail(ctx, make_error(Errc::usage,
                                  "timestamp: no trust anchor for the TSA certificate: give --ca "
                                  "(the fabric CA) or --tsa-ca (the TSA's CA)"));
    auto out = admin::timestamp_bundle(req);
    if (!out) {
      Error e = out.error();
      if (e.code == Errc::exists) e.message += "; pass --force to replace it";
      return fail(ctx, e.context("timestamp"));
    }
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"output", out->path},
                                  {"gen_time", utc_text(out->gen_time)},
                                  {"serial", out->serial},
                                  {"tsa", out->tsa_subject}}
                       .dump()
                << '\n';
      return;
    }
    std::cout << "timestamped " << out->path << ": genTime " << utc_text(out->gen_time)
              << ", serial " << out->serial << ", TSA " << out->tsa_subject << '\n';
  });
}

}  // namespace grafos::tools::admin_cli
