// libFuzzer target for key references: RFC 7512 PKCS#11 URIs (hsm/uri.hpp) — the parser, the
// percent decoder and the redaction used in every message that shows a key reference.
//
// Properties checked on every input (a violation aborts, which libFuzzer reports as a crash):
//   - a URI that parses with a pin-value is never shown without "<redacted>";
//   - a parsed URI's module path and pin file carry no NUL (they reach dlopen() and open()).
//
// Stages (tests/fuzz/corpus/key_ref.expect): scheme, uri-parsed, pin-redacted.
// Run: scripts/fuzz.sh [SECONDS]   (or see tests/fuzz/meson.build)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hsm/uri.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using grafos::fuzz::reached;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)grafos::hsm::percent_decode(input);
  std::string shown = grafos::hsm::redact_pkcs11_uri(input);
  if (!grafos::hsm::has_pkcs11_scheme(input)) return 0;
  reached("scheme");
  auto uri = grafos::hsm::parse_pkcs11_uri(input);
  if (!uri) return 0;
  reached("uri-parsed");
  if (uri->module_path.find('\0') != std::string::npos) std::abort();
  if (uri->pin_file && uri->pin_file->find('\0') != std::string::npos) std::abort();
  if (uri->pin_value) {
    if (shown.find("<redacted>") == std::string::npos) std::abort();
    reached("pin-redacted");
  }
  return 0;
}
