// grafos-admin unfence-lease: POST /api/v1/admin/fenced-leases/{lease_id}/unfence.
#include <iostream>
#include <optional>

#include "admin/wire.hpp"
#include "tools/grafos-admin/commands.hpp"

namespace grafos::tools::admin_cli {
namespace {
struct Options {
  ConnectionOptions conn;
  std::string lease_id;
  bool yes = false;
};
}  // namespace

void add_unfence_lease(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "unfence-lease",
      "explicitly clear a fence.\nOperator action: once you've verified the holder is gone "
      "(powered down the node, manually torn down the binding), call this to release the "
      "quarantined capacity. Hits `POST /api/v1/admin/fenced-leases/<lease_id>/unfence` on the "
      "cell-scheduler that holds the fence record. Asks for confirmation unless --yes; without a "
      "terminal on stdin it refuses unless --yes is given.");
  add_global_options(*sub, ctx.global);
  add_connection_options(*sub, o->conn,
                         "Cell-scheduler URL (NOT the orchestrator — fences live on the cell that "
                         "holds the lease record)",
                         "FabricAdmin bearer token (required under mtls+token)");
  sub->add_option("--lease-id", o->lease_id, "Lease id (hex, with or without `0x` prefix)")
      ->required();
  sub->add_flag("--yes", o->yes, "Skip the \"are you sure\" prompt");
  sub->callback([o, &ctx] {
    auto id = admin::normalize_lease_id(o->lease_id);
    if (!id) return fail(ctx, id.error());
    if (auto c = confirm("Unfence lease " + *id +
                             " and release its quarantined capacity (the holder must be gone)?",
                         o->yes);
        !c)
      return fail(ctx, c.error());
    auto client = open_client(ctx, o->conn);
    if (!client) return fail(ctx, client.error());
    auto r = admin::unfence_lease(*client, *id);
    if (!r) return fail(ctx, r.error());
    if (ctx.global.json) return print_json(*r);
    // The answer is a FencedLease; an empty answer (no body) is accepted as before.
    std::optional<std::uint64_t> capacity;
    if (!r->json.is_null()) {
      auto lease = admin::decode<admin::FencedLease>(r->json);
      if (!lease) return fail(ctx, lease.error().context("unfence-lease " + *id));
      if (r->json.contains("capacity")) capacity = lease->capacity;
    }
    std::cout << "unfenced lease " << *id;
    if (capacity) std::cout << ": released capacity " << *capacity;
    std::cout << '\n';
  });
}

}  // namespace grafos::tools::admin_cli
