// grafos-ca transcript verify | show: the ceremony transcript, checked offline with ca.pem.
#include <iostream>

#include "pki/lifecycle.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"

namespace grafos::tools::ca {

void add_transcript(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("transcript", "Verify or show the CA's ceremony transcript.");
  sub->require_subcommand(1);
  auto req = std::make_shared<pki::TranscriptCheckRequest>();
  auto* verify = sub->add_subcommand(
      "verify",
      "Verify the ceremony transcript offline.\n"
      "Needs only ca.pem: recomputes the Merkle tree, checks every checkpoint's signature and "
      "that each covers the entries before it, cross-checks the ledger (when present), and with "
      "--checkpoint proves that the transcript extends a checkpoint saved earlier. Exit 0 when "
      "sound, 1 when anything was changed, removed, reordered or truncated (each named).\n"
      "Example: grafos-ca transcript verify --ca ca/ca.pem --checkpoint saved.note");
  verify->add_option("--ca,--ca-cert", req->ca_cert, "CA certificate (PEM)")->required();
  verify->add_option("--checkpoint", req->checkpoint,
                     "A checkpoint (signed note) saved earlier that the transcript must extend");
  verify->add_option("--transcript", req->transcript,
                     "The transcript (default: ca-transcript.log beside ca.pem)");
  verify->add_option("--ledger", req->ledger,
                     "The CA's ledger (default: ca-ledger.db beside ca.pem)");
  add_global_options(*verify, ctx.global, kFlagJson);
  verify->footer(kExitStatusFooter);
  verify->callback([&ctx, req] {
    auto r = pki::check_transcript(*req);
    if (!r) return ctx.fail(r.error().context("transcript verify"));
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"entries", r->entries},
                                  {"checkpoints", r->checkpoints},
                                  {"problems", r->problems},
                                  {"verified", r->problems.empty()}}
                       .dump()
                << '\n';
    } else {
      for (auto& p : r->problems) std::cout << "problem: " << p << '\n';
      std::cout << (r->problems.empty() ? "verified: " : "NOT verified: ") << r->entries
                << " entries, " << r->checkpoints << " checkpoints\n";
      if (r->problems.empty() && !r->checkpoint_notes.empty())
        std::cout << "last checkpoint:\n" << r->checkpoint_notes.back();
    }
    if (!r->problems.empty()) ctx.exit_code = kExitMismatch;
  });
  auto* show = sub->add_subcommand("show",
                                   "Print the ceremony transcript for a person (verified first).\n"
                                   "Example: grafos-ca transcript show --ca ca/ca.pem");
  show->add_option("--ca,--ca-cert", req->ca_cert, "CA certificate (PEM)")->required();
  show->add_option("--transcript", req->transcript,
                   "The transcript (default: ca-transcript.log beside ca.pem)");
  add_global_options(*show, ctx.global, kFlagJson);
  show->footer(kExitStatusFooter);
  show->callback([&ctx, req] {
    auto r = pki::check_transcript(*req);
    if (!r) return ctx.fail(r.error().context("transcript show"));
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"entries", r->parsed},
                                  {"checkpoints", r->checkpoint_notes},
                                  {"problems", r->problems}}
                       .dump()
                << '\n';
    } else {
      for (auto& e : r->parsed) {
        std::cout << '#' << e.value("index", 0) << ' ' << e.value("time", "") << ' '
                  << e.value("op", "");
        for (auto& [k, v] : e.items())
          if (k != "index" && k != "time" && k != "op" && k != "type" && k != "checkpoints")
            std::cout << ' ' << k << '=' << (v.is_string() ? v.get<std::string>() : v.dump());
        std::cout << '\n';
      }
      for (auto& p : r->problems) std::cout << "problem: " << p << '\n';
      if (!r->checkpoint_notes.empty())
        std::cout << "last checkpoint:\n" << r->checkpoint_notes.back();
    }
    if (!r->problems.empty()) ctx.exit_code = kExitMismatch;
  });
}

}  // namespace grafos::tools::ca
