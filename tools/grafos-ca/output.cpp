#include "tools/grafos-ca/output.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

namespace grafos::tools::ca {

const char* const kExitStatusFooter =
    "Exit status: 0 ok; 2 bad flags or arguments; 3 input refused (identity or SAN grammar, "
    "malformed file, CSR policy, validity beyond the CA's, symlink at an output); 4 an output "
    "exists and --force was not given; 5 key backend (module, token, PIN, passphrase, key does "
    "not match the CA certificate); 6 a file is missing or unreadable/unwritable; 7 an OpenSSL "
    "operation failed; 8 the profile linter refused the certificate before signing; 70 a bug.";

std::string written_json(const pki::WrittenCert& w) {
  nlohmann::ordered_json j;
  j["role"] = std::string(pki::role_name(w.role));
  j["identity"] = w.identity;
  j["subject"] = w.subject;
  j["san"] = w.san;
  j["serial"] = w.serial;
  j["sha256_fingerprint"] = w.sha256;
  j["not_before"] = w.not_before;
  j["not_after"] = w.not_after;
  nlohmann::ordered_json files;
  files["certificate"] = w.certificate.string();
  if (!w.private_key.empty()) files["private_key"] = w.private_key.string();
  j["files"] = files;
  if (!w.key_ref.empty()) j["ca_key"] = w.key_ref;
  return j.dump();
}

void print_written(const Context& ctx, const std::vector<pki::WrittenCert>& written,
                   bool as_array) {
  if (ctx.global.json) {
    if (as_array) std::cout << '[';
    for (size_t i = 0; i < written.size(); ++i)
      std::cout << (i ? "," : "") << written_json(written[i]);
    if (as_array) std::cout << ']';
    std::cout << '\n';
    return;
  }
  for (const auto& w : written) {
    std::cout << "wrote " << w.certificate.string();
    if (!w.private_key.empty()) std::cout << " and " << w.private_key.string();
    std::cout << ": " << w.subject;
    if (!w.san.empty()) {
      std::cout << ", SAN ";
      for (size_t i = 0; i < w.san.size(); ++i) std::cout << (i ? "," : "") << w.san[i];
    }
    std::cout << ", serial " << w.serial << ", valid until " << w.not_after << '\n';
    if (w.role == pki::Role::ca && w.private_key.empty())
      std::cout << "CA key: " << w.key_ref << '\n';
  }
}

}  // namespace grafos::tools::ca
