// grafos-admin grant create|list|show|revoke|token: federation grants of seed 001 on the granting
// fabric's registry (POST/GET /api/v1/admin/federation/grants, GET .../grants/{id},
// PATCH .../grants/{id}/revoke, POST .../grants/{id}/tokens).
#include <iostream>

#include "admin/federation.hpp"
#include "tools/grafos-admin/commands.hpp"
#include "util/file_io.hpp"
#include "util/json.hpp"
#include "util/text.hpp"

namespace grafos::tools::admin_cli {
namespace {

struct Options {
  ConnectionOptions conn;
  std::string user;
  std::string peer;
  std::string scope_file;
  std::int64_t expires_days = 365;
  std::string status;
  std::string id;
  std::string reason;
  std::int64_t ttl = 900;
  bool yes = false;
};

constexpr const char* kBearerHelp = "FabricAdmin bearer token (required under mtls+token)";

void print_grants(const Context& ctx, const nlohmann::json& grants) {
  admin::Rows rows{{"ID", "PEER", "USER", "STATUS", "RESOURCES", "MAX_ROWS", "EXPIRES"}};
  for (const auto& g : grants) {
    std::string res;
    for (const auto& r : g.at("scope").value("resources", nlohmann::json::array()))
      res += (res.empty() ? "" : ",") + r.get<std::string>();
    rows.push_back({g.value("id", ""), g.value("peer_id", ""), g.value("user_id", ""),
                    g.value("status", ""), res,
                    std::to_string(g.at("scope").value("max_rows_per_query", 0)),
                    admin::format_time(g.value("expires_at", std::int64_t{0}))});
  }
  for (auto& row : rows)
    for (auto& cell : row) cell = escape_text(cell);
  print_table(ctx, rows, 3);
}

CLI::App* sub_of(CLI::App& grant, Context& ctx, Options& o, const char* name, const char* help) {
  auto* sub = grant.add_subcommand(name, help);
  add_global_options(*sub, ctx.global);
  add_connection_options(*sub, o.conn, "Registry URL of the granting fabric", kBearerHelp);
  return sub;
}

}  // namespace

void add_grant(CLI::App& app, Context& ctx) {
  auto* grant = app.add_subcommand(
      "grant",
      "Federation grants (seed 001), on the granting fabric's registry: create a scoped grant for "
      "a peer fabric, list, show and revoke grants, and mint single-use enrollment tokens. "
      "fabric-admin only (plus the FabricAdmin bearer under mtls+token).");
  grant->require_subcommand(1);

  auto oc = std::make_shared<Options>();
  auto* create = sub_of(*grant, ctx, *oc, "create",
                        "Create a pending grant for --peer acting for --user, scoped by a JSON "
                        "file {\"resources\":[...],\"excluded_resources\":[...],"
                        "\"max_rows_per_query\":N}. Resources: tenants, leases, fenced-leases, "
                        "audit, cells; max_rows_per_query 1-10000.\nExample: grafos-admin grant "
                        "create --user alice --peer fabric-b --scope scope.json");
  create->add_option("--user", oc->user, "Subject user id the peer acts for")->required();
  create->add_option("--peer", oc->peer, "Peer id (tenant grammar)")->required();
  create->add_option("--scope", oc->scope_file, "Scope file (JSON)")->required();
  create->add_option("--expires", oc->expires_days, "Days until the grant expires")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  create->callback([oc, &ctx] {
    auto text = read_file(oc->scope_file);
    if (!text) return fail(ctx, Error{Errc::file_missing, "--scope: " + text.error().message});
    auto scope = parse_json_strict(*text, 8);
    if (!scope)
      return fail(ctx,
                  make_error(Errc::invalid_input, "--scope '" + oc->scope_file +
                                                      "' is not JSON: " + scope.error().message));
    auto client = open_client(ctx, oc->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::grant_create(*client, oc->user, oc->peer, *scope, oc->expires_days * 86400);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    std::cout << "created grant " << escape_text(r->json.value("id", "")) << " for peer "
              << escape_text(oc->peer) << " (pending until the peer enrolls)\n";
  });

  auto ol = std::make_shared<Options>();
  auto* list = sub_of(*grant, ctx, *ol, "list", "List grants, optionally of one peer or status.");
  list->add_option("--peer", ol->peer, "Only grants of this peer id");
  list->add_option("--status", ol->status, "pending | active | revoked | expired")
      ->check(CLI::IsMember({"pending", "active", "revoked", "expired"}));
  list->callback([ol, &ctx] {
    auto client = open_client(ctx, ol->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::grant_list(*client, ol->peer, ol->status);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    print_grants(ctx, r->json.value("grants", nlohmann::json::array()));
  });

  auto os = std::make_shared<Options>();
  auto* show = sub_of(*grant, ctx, *os, "show", "Show one grant: scope, status, times.");
  show->add_option("grant_id", os->id, "Grant id")->required();
  show->callback([os, &ctx] {
    auto client = open_client(ctx, os->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::grant_show(*client, os->id);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    std::cout << r->json.dump(2) << '\n';
  });

  auto orv = std::make_shared<Options>();
  auto* revoke = sub_of(*grant, ctx, *orv, "revoke",
                        "Revoke a grant (final): the peer's next request is refused (401) and its "
                        "certificate goes on the enrollment intermediate's CRL. Asks for "
                        "confirmation unless --yes.");
  revoke->add_option("grant_id", orv->id, "Grant id")->required();
  revoke->add_option("--reason", orv->reason, "Reason, kept in the grant and the audit log");
  revoke->add_flag("--yes", orv->yes, "Skip the \"are you sure\" prompt");
  revoke->callback([orv, &ctx] {
    if (auto c = confirm("Revoke grant " + orv->id + " (the peer loses access at once)?", orv->yes);
        !c)
      return fail(ctx, c.error());
    auto client = open_client(ctx, orv->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::grant_revoke(*client, orv->id, orv->reason);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    std::cout << "revoked grant " << escape_text(orv->id) << '\n';
  });

  auto ot = std::make_shared<Options>();
  auto* token = sub_of(*grant, ctx, *ot, "token",
                       "Mint a single-use enrollment token for a pending grant and print it once "
                       "with the full enrollment URL (which pins the fabric CA's SHA-256). Only "
                       "its SHA-256 is stored.");
  token->add_option("grant_id", ot->id, "Grant id")->required();
  token->add_option("--ttl", ot->ttl, "Seconds the token is valid, 1-900 (never more)")
      ->capture_default_str();
  token->callback([ot, &ctx] {
    if (ot->ttl < 1 || ot->ttl > 900)
      return fail(ctx, make_error(Errc::usage, "--ttl must be 1 to 900 seconds (got " +
                                                   std::to_string(ot->ttl) +
                                                   "): enrollment tokens never live longer than "
                                                   "15 minutes"));
    auto client = open_client(ctx, ot->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::grant_token(*client, ot->id, ot->ttl);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    std::cout << "token: " << r->json.value("token", "") << '\n'
              << "expires: " << admin::format_time(r->json.value("expires_at", std::int64_t{0}))
              << '\n'
              << "enrollment URL: " << r->json.value("enrollment_url", "") << '\n';
  });
}

}  // namespace grafos::tools::admin_cli
