// libFuzzer target for the provenance parsers: record and bundle parsing (strict JSON, record
// schema, Sigstore bundle layout, base64, DER certificate, DSSE). Hashing is skipped; a fixed CA
// is given so bundle inputs reach the certificate and signature checks.
//
// Build with clang (meson configures it when the C++ compiler is clang):
//   CXX=clang++ meson setup build-fuzz && ninja -C build-fuzz tests/fuzz/provenance_fuzz
//   build-fuzz/tests/fuzz/provenance_fuzz -max_total_time=60 tests/data/provenance/*/input.json
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "provenance/base64.hpp"
#include "provenance/verify.hpp"

namespace {
// Any CA certificate will do: the inputs are not expected to chain to it.
constexpr const char* kCa =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBhTCCASugAwIBAgIUXCyEhjN6lvKZ4NGSKWwZSc6p2C8wCgYIKoZIzj0EAwIw\n"
    "GDEWMBQGA1UEAwwNRnV6eiBGYWJyaWMgQ0EwHhcNMjYwMTAxMDAwMDAwWhcNMzYw\n"
    "MTAxMDAwMDAwWjAYMRYwFAYDVQQDDA1GdXp6IEZhYnJpYyBDQTBZMBMGByqGSM49\n"
    "AgEGCCqGSM49AwEHA0IABBSi2N8Xl1Q2wP3mB8lEBGmT7wq0l2v7Ul6HUJ2J3f6g\n"
    "xk7S2mX1Wm8kq7pXo8h4s7f5uK9Q0wH1QkqJr5+o1VejUzBRMB0GA1UdDgQWBBQ2\n"
    "-----END CERTIFICATE-----\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  grafos::provenance::VerifyOptions unsigned_opts;
  unsigned_opts.skip_hashing = true;
  (void)grafos::provenance::verify_provenance(input, unsigned_opts);
  grafos::provenance::VerifyOptions signed_opts;
  signed_opts.skip_hashing = true;
  signed_opts.ca_pem = kCa;
  (void)grafos::provenance::verify_provenance(input, signed_opts);
  (void)grafos::provenance::base64_decode(input);
  return 0;
}
