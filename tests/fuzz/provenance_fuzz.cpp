// libFuzzer target for provenance verification (provenance/verify.hpp): strict JSON, the record
// schema, the Sigstore bundle layout, strict base64, the DER signer certificate, its chain to a
// real CA, the signer profile, the DSSE signature over PAE and the in-toto payload. Hashing is
// skipped.
//
// The trust anchor is the real CA of the verification vectors (tests/data/provenance/pki/ca.pem,
// made by tests/data/provenance/generate.py), and the committed seeds include a bundle it signed
// (corpus/provenance/good-signed-bundle.json), so inputs reach the chain, signature and payload
// checks; the seed test proves it (corpus/provenance.expect).
//
// Stages: json, bundle-certificate (chain refused), chain-verified (signature refused),
// signature-verified (payload refused), signed-bundle-verified; record-verified (unsigned).
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "provenance/base64.hpp"
#include "provenance/verify.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "util/json.hpp"

namespace {
// tests/data/provenance/pki/ca.pem (CN=Vectors Fabric CA, valid 2026-11-23 to 2126-10-30).
constexpr const char* kCa =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBoTCCAUigAwIBAgIUVOP+4AaddWEPS3TFiuGfYJZQ1EwwCgYIKoZIzj0EAwIw\n"
    "HDEaMBgGA1UEAwwRVmVjdG9ycyBGYWJyaWMgQ0EwIBcNMjYxMTIzMTkxNzMyWhgP\n"
    "MjEyNjEwMzAxOTE3MzJaMBwxGjAYBgNVBAMMEVZlY3RvcnMgRmFicmljIENBMFkw\n"
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEl5XbrY3DL3HNqvlJWjY8q+DUH1pORjqg\n"
    "Wv8X4dLyD7qR7lDkEXArk3AQZaVg78M+ODtDr3zLGIY8v8B7Dt+y/KNmMGQwHwYD\n"
    "VR0jBBgwFoAUKRdjFdTSriMeagThjSMkcGR4GAgwEgYDVR0TAQH/BAgwBgEB/wIB\n"
    "ATAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFCkXYxXU0q4jHmoE4Y0jJHBkeBgI\n"
    "MAoGCCqGSM49BAMCA0cAMEQCICGi5bG1qRxzJLGBjieXRRYQvG/mWxvjezmruKTR\n"
    "uixFAiBtj7uF5wJCoPINOyqxbDG1P/Vjhqdw15QXGCyJ09T0/w==\n"
    "-----END CERTIFICATE-----\n";

// A fixed verification time inside the CA's and the vectors' validity (2027-01-01T00:00:00Z), so
// that a run does not depend on the clock.
constexpr std::time_t kAt = 1798761600;

bool contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using grafos::fuzz::reached;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)grafos::provenance::base64_decode(input);
  if (!grafos::parse_json_strict(input)) return 0;
  reached("json");

  grafos::provenance::VerifyOptions unsigned_opts;
  unsigned_opts.skip_hashing = true;
  if (auto r = grafos::provenance::verify_provenance(input, unsigned_opts); r)
    reached("record-verified");

  grafos::provenance::VerifyOptions signed_opts;
  signed_opts.skip_hashing = true;
  signed_opts.ca_pem = kCa;
  signed_opts.at_time = kAt;
  auto r = grafos::provenance::verify_provenance(input, signed_opts);
  if (r) {
    if (r->signed_bundle) reached("signed-bundle-verified");
    return 0;
  }
  // How far a refused bundle got, from verify.cpp's order: chain, profile, signature, payload.
  const std::string& m = r.error().message;
  if (contains(m, "does not chain to")) {
    reached("bundle-certificate");
  } else if (contains(m, "DSSE signature does not verify")) {
    reached("chain-verified");
  } else if (m.starts_with("bundle: payload") || m.starts_with("bundle: predicate") ||
             m.starts_with("bundle: statement")) {
    reached("signature-verified");
  }
  return 0;
}
