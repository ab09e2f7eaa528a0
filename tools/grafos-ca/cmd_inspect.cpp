// grafos-ca inspect FILE: what a certificate, CSR, CRL, provenance record or bundle says, for a
// person (key: value lines) or a script (--json). Describes only; verifies nothing.
#include <iostream>
#include <memory>

#include "pki/identity.hpp"
#include "pki/inspect.hpp"
#include "provenance/inspect.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "tools/grafos-ca/output.hpp"
#include "util/file_io.hpp"

namespace grafos::tools::ca {
namespace {

using nlohmann::ordered_json;

// A value as one line of text: strings escaped (the file may hold anything), others as JSON.
std::string text_of(const ordered_json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return pki::printable(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + text_of(e);
    return out.empty() ? "-" : out;
  }
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_fields(const ordered_json& j, const std::string& indent) {
  for (const auto& [key, value] : j.items()) {
    if (key == "binaries" || key == "revoked") continue;
    if (value.is_object()) {
      std::cout << indent << key << ":\n";
      print_fields(value, indent + "  ");
    } else {
      std::cout << indent << key << ": " << text_of(value) << '\n';
    }
  }
}

void print_human(const ordered_json& j) {
  print_fields(j, "");
  if (j.contains("binaries")) {
    std::cout << "binaries: " << j["binaries"].size() << '\n';
    for (const auto& b : j["binaries"])
      std::cout << "  " << text_of(b["sha256"]) << "  " << text_of(b["size"]) << "  "
                << text_of(b["path"]) << '\n';
  }
  if (j.contains("revoked")) {
    std::cout << "revoked: " << j["revoked"].size() << '\n';
    for (const auto& r : j["revoked"])
      std::cout << "  " << text_of(r["serial"]) << "  " << text_of(r["revoked_at"]) << '\n';
  }
  if (j.value("kind", "") == "provenance-bundle")
    std::cout << "note: the signature and the signer's chain were not checked (grafos-ca "
                 "image-provenance verify --ca does)\n";
}

}  // namespace

void add_inspect(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "inspect",
      "Show what a certificate, CSR, CRL, provenance record or bundle says.\n"
      "Reads PEM or DER X.509 (certificate, PKCS#10 CSR, CRL) or provenance JSON (record or "
      "Sigstore bundle) and prints its fabric identity and role, validity, SHA-256 fingerprints "
      "and, for provenance, the image, commit, dirty flag, signer and each binary. Verifies "
      "nothing: use openssl verify or grafos-ca image-provenance verify for that.\n"
      "Example: grafos-ca inspect acme/client.pem --json");
  auto file = std::make_shared<std::string>();
  sub->add_option("FILE", *file, "The file to describe")->required()->check(non_empty());
  add_global_options(*sub, ctx.global, kFlagJson);
  sub->footer(
      "Exit status: 0 described; 2 bad flags or arguments; 3 the file is none of the kinds "
      "above, or is one but malformed; 6 the file is missing or unreadable.");
  sub->callback([&ctx, file] {
    auto data = read_file(*file, 256u * 1024 * 1024);
    if (!data) return ctx.fail(data.error().context("inspect"));
    std::optional<ordered_json> found;
    auto x = pki::inspect_x509(*data);
    if (!x) return ctx.fail(x.error().context("inspect '" + *file + "'"));
    found = std::move(*x);
    if (!found) {
      auto p = provenance::inspect_provenance(*data);
      if (!p) return ctx.fail(p.error().context("inspect '" + *file + "'"));
      found = std::move(*p);
    }
    if (!found)
      return ctx.fail(
          Error{Errc::invalid_input, "inspect '" + *file +
                                         "': not a certificate, CSR or CRL (PEM or DER), nor a "
                                         "provenance record or bundle"});
    (*found)["file"] = *file;
    if (ctx.global.json) {
      std::cout << found->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      return;
    }
    print_human(*found);
  });
}

}  // namespace grafos::tools::ca
