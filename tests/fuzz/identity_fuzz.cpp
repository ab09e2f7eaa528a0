// libFuzzer target for identities (pki/identity.hpp, pki/ceremony.hpp): batch files, server SAN
// lists, identity URNs and the name grammars. The first byte of an input picks the parser:
//   'B' batch file   'S' one --san list   'U' identity URN   'N' tenant/provider/cell-id/pipeline
// (anything else: the rest is given to every parser).
//
// Properties checked (a violation aborts, which libFuzzer reports as a crash):
//   - nothing accepted carries a NUL, another control byte or DEL (what a reviewer reads is what
//     gets certified: "server 10.1.2.3<NUL>.evil" once became IP:10.1.2.3);
//   - an accepted IP SAN is canonical and its text parses back to itself;
//   - an accepted identity's URN parses back to the same identity, and a batch folder name is
//     one safe path component.
//
// Stages (tests/fuzz/corpus/identity.expect): batch-read, batch-parsed, sans-read, sans-parsed,
// urn-read, urn-parsed, names-read, name-accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pki/ceremony.hpp"
#include "pki/identity.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "util/file_io.hpp"

namespace {
using namespace grafos::pki;
using grafos::fuzz::reached;

void require(bool ok) {
  if (!ok) std::abort();
}

bool clean(std::string_view s) { return find_control_byte(s) == std::string_view::npos; }

void check_identity(const Identity& id) {
  require(clean(id.name) && clean(id.provider) && clean(id.ca_common_name));
  for (const auto& san : id.server_sans) {
    require(clean(san.value) && !san.value.empty());
    if (san.kind == SanEntry::Kind::ip) {
      auto again = parse_server_sans(san.value);
      require(again && again->size() == 1 && (*again)[0] == san);
    }
  }
  std::string urn = identity_urn(id);
  if (!urn.empty()) {
    auto back = identity_from_urn(urn);
    require(back && back->role == id.role && back->name == id.name &&
            back->provider == id.provider && back->cell_id == id.cell_id);
    require(identity_urn(*back) == urn);
  }
}

void batch(std::string_view text) {
  reached("batch-read");
  auto entries = parse_batch(text);
  if (!entries) return;
  for (const auto& e : *entries) {
    check_identity(e.identity);
    require(grafos::is_safe_path_component(batch_folder_name(e.identity)));
  }
  reached("batch-parsed");
}

void sans(std::string_view text) {
  reached("sans-read");
  auto id = make_server_identity({std::string(text)});
  if (!id) return;
  check_identity(*id);
  reached("sans-parsed");
}

void urn(std::string_view text) {
  reached("urn-read");
  auto id = identity_from_urn(text);
  if (!id) return;
  require(identity_urn(*id) == text);  // exact match: no case folding, no percent-decoding
  check_identity(*id);
  reached("urn-parsed");
}

void names(std::string_view text) {
  reached("names-read");
  bool any = false;
  if (auto t = make_tenant_identity(text)) check_identity(*t), any = true;
  if (auto p = make_provenance_signer_identity(text)) check_identity(*p), any = true;
  if (check_provider_name(text)) require(clean(text)), any = true;
  if (auto c = parse_cell_id(text)) require(std::to_string(*c) == text), any = true;
  if (check_dns_name(text)) require(clean(text)), any = true;
  if (any) reached("name-accepted");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 'B':
      batch(rest);
      break;
    case 'S':
      sans(rest);
      break;
    case 'U':
      urn(rest);
      break;
    case 'N':
      names(rest);
      break;
    default:
      names(rest);
      urn(rest);
      sans(rest);
      batch(rest);
      break;
  }
  return 0;
}
