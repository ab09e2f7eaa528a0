// grafos-admin peer add|list|read: the enrolling side of seed 001. `peer add <enrollment-url>`
// drives the six steps through the LOCAL registry (--scheduler): the local registry makes the key
// and CSR and seals the key (POST /api/v1/admin/federation/peers/keypair); this command pins the
// granting fabric's CA by the fingerprint in the URL (admin/federation.hpp), POSTs the CSR to the
// enrollment URL over TLS verified against that CA only, checks the certificate
// (pki::federation::check_peer_certificate: chain to the pinned CA, SAN, both OIDs), and stores it
// (PATCH /api/v1/admin/federation/peers/{id}/cert), where the registry checks it again.
#include <iostream>

#include "admin/federation.hpp"
#include "pki/federation.hpp"
#include "tools/grafos-admin/commands.hpp"
#include "util/ossl.hpp"
#include "util/text.hpp"

namespace grafos::tools::admin_cli {
namespace {

struct Options {
  ConnectionOptions conn;
  std::string url;
  std::string peer;
  std::string resource;
};

constexpr const char* kBearerHelp = "FabricAdmin bearer token (required under mtls+token)";

Result<nlohmann::json> enroll(Context& ctx, Options& o) {
  if (o.url == "-") {
    // The URL holds the token: read from stdin, it stays out of argv (and `ps`).
    if (!std::getline(std::cin, o.url) || o.url.empty())
      return make_error(Errc::usage, "peer add -: no enrollment URL on stdin");
    while (!o.url.empty() && (o.url.back() == '\r' || o.url.back() == ' ')) o.url.pop_back();
  }
  auto u = admin::parse_enrollment_url(o.url);
  cleanse_string(o.url);
  if (!u) return u.error();
  auto client = open_client(ctx, o.conn);
  if (!client) return client.error();
  // 1. pin the granting fabric's CA by the URL's fingerprint.
  auto ca_pem = admin::fetch_pinned_ca(u->base, u->ca_sha256, 30'000);
  if (!ca_pem) return ca_pem.error();
  auto root = x509_from_pem(*ca_pem);
  if (!root) return root.error();
  // 2. the local registry makes the key (sealed there) and the CSR.
  auto kp = admin::peer_keypair(*client, *u, *ca_pem);
  if (!kp) return kp.error();
  std::string csr = kp->json.value("csr_pem", "");
  // 3. the enrollment, over TLS verified against the pinned CA only.
  admin::PinnedRequest pr;
  pr.method = "POST";
  pr.url = u->base + "/api/v1/federation/enroll";
  pr.ca_pem = *ca_pem;
  pr.body = nlohmann::json{{"token", std::string(u->token.view())}, {"csr", csr}};
  auto er = admin::pinned_request(pr);
  pr.body.reset();
  if (!er) return std::move(er).error().context("enrolling with " + u->base);
  if (er->status != 201)
    return admin::error_from_response(er->status, er->body, "enrolling with " + u->base);
  std::string cert_pem = er->json.value("certificate", "");
  std::string chain_pem;
  std::vector<X509Ptr> chain;
  for (const auto& c : er->json.value("chain", nlohmann::json::array())) {
    if (!c.is_string()) continue;
    chain_pem += c.get<std::string>();
    auto x = x509_from_pem(c.get<std::string>());
    if (!x) return make_error(Errc::invalid_input, "the enrollment answer's chain is not PEM");
    chain.push_back(std::move(*x));
  }
  auto cert = x509_from_pem(cert_pem);
  if (!cert) return make_error(Errc::invalid_input, "the enrollment answer holds no certificate");
  // 4. the certificate: chain to the pinned CA, our peer id, exactly the grant and user OIDs.
  std::vector<X509*> raw;
  for (auto& c : chain) raw.push_back(c.get());
  auto info = pki::federation::check_peer_certificate(cert->get(), raw, root->get(),
                                                      {u->peer_id, u->grant_id, u->user_id});
  if (!info)
    return std::move(info).error().context("the certificate issued by " + u->base +
                                           " is refused (not stored)");
  // 5-6. the local registry stores it with the sealed key.
  auto st = admin::peer_set_cert(*client, u->peer_id, cert_pem, chain_pem);
  if (!st) return st.error();
  return st->json;
}

}  // namespace

void add_peer(CLI::App& app, Context& ctx) {
  auto* peer = app.add_subcommand(
      "peer",
      "Federation peers (seed 001), on the enrolling fabric's registry: enroll with another "
      "fabric from the enrollment URL its administrator gave you, list enrolled peers, read what a "
      "grant allows.");
  peer->require_subcommand(1);

  auto oa = std::make_shared<Options>();
  auto* add = peer->add_subcommand(
      "add",
      "Enroll with a granting fabric: the local registry (--scheduler) makes a P-256 key and a "
      "CSR and seals the key (AES-256-GCM, HKDF from its seal secret); the CSR goes to the "
      "enrollment URL over TLS pinned to the CA fingerprint the URL carries; the certificate must "
      "chain to that CA and carry exactly the grant and user ids, else it is refused.\nExample: "
      "grafos-admin peer add 'https://b.example:9100/api/v1/federation/enroll?token=...'");
  add_global_options(*add, ctx.global);
  add_connection_options(*add, oa->conn, "Registry URL of THIS (the enrolling) fabric",
                         kBearerHelp);
  add->add_option("enrollment_url", oa->url,
                  "Enrollment URL printed by `grafos-admin grant token` on the granting fabric "
                  "(quote it: it holds '&'), or - to read it from stdin (keeps the token out of "
                  "argv)")
      ->required();
  add->callback([oa, &ctx] {
    auto r = enroll(ctx, *oa);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) {
      std::cout << r->dump() << '\n';
      return;
    }
    std::cout << "enrolled peer " << escape_text(r->value("peer_id", "")) << " with "
              << escape_text(r->value("remote_url", "")) << ": certificate sha256 "
              << r->value("cert_sha256", "") << ", not after "
              << admin::format_time(r->value("not_after", std::int64_t{0})) << '\n';
  });

  auto ol = std::make_shared<Options>();
  auto* list = peer->add_subcommand(
      "list", "List enrolled peers: certificate SHA-256 fingerprint, not-after, status.");
  add_global_options(*list, ctx.global);
  add_connection_options(*list, ol->conn, "Registry URL of this fabric", kBearerHelp);
  list->callback([ol, &ctx] {
    auto client = open_client(ctx, ol->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::peer_list(*client);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    admin::Rows rows{{"PEER", "REMOTE", "STATUS", "NOT_AFTER", "CERT_SHA256"}};
    for (const auto& p : r->json.value("peers", nlohmann::json::array())) {
      auto na = p.value("not_after", nlohmann::json());
      rows.push_back({p.value("peer_id", ""), p.value("remote_url", ""), p.value("status", ""),
                      na.is_number_integer() ? admin::format_time(na.get<std::int64_t>()) : "-",
                      p.value("cert_sha256", "")});
    }
    for (auto& row : rows)
      for (auto& cell : row) cell = escape_text(cell);
    print_table(ctx, rows, 2);
  });

  auto orr = std::make_shared<Options>();
  auto* read = peer->add_subcommand(
      "read",
      "Read a resource of the granting fabric with an enrolled peer's certificate, through this "
      "fabric's registry (which opens the sealed key): GET /api/v1/federation/<resource> there. "
      "Prints the remote answer (rows limited by the grant's max_rows_per_query).");
  add_global_options(*read, ctx.global);
  add_connection_options(*read, orr->conn, "Registry URL of this fabric", kBearerHelp);
  read->add_option("peer_id", orr->peer, "Peer id")->required();
  read->add_option("resource", orr->resource, "tenants | leases | fenced-leases | audit | cells")
      ->required();
  read->callback([orr, &ctx] {
    auto client = open_client(ctx, orr->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::peer_remote_read(*client, orr->peer, orr->resource);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    std::cout << r->json.value("remote", nlohmann::json()).dump(2) << '\n';
  });
}

}  // namespace grafos::tools::admin_cli
