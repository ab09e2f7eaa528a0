// ca_issue_bench: issuance throughput of the pki library, in memory.
//
// Loads the CA (certificate + key reference: a PEM path or a pkcs11: URI) once through
// pki::load_issuer, then issues COUNT cell certificates, each with a freshly generated P-256 leaf
// key: build, lint, sign with the CA Signer, verify-before-release, DER-encode. Nothing is written
// to disk. Prints the throughput and the share of the time spent in leaf key generation.
//
// Usage: ca_issue_bench --ca-cert CA_PEM --ca-key REF [--count N] [--warmup N]
//   The PKCS#11 PIN comes from the URI's pin-source or from GRAFOS_PKCS11_PIN.
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "hsm/file/file_key_manager.hpp"
#include "pki/ceremony.hpp"
#include "pki/identity.hpp"
#include "pki/issuer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

/// Command-line options.
struct Options {
  std::string ca_cert;
  std::string ca_key;
  long count = 20000;
  long warmup = 200;
};

/// Parses argv; false (after a usage line) when malformed.
bool parse_args(int argc, char** argv, Options& opts) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--ca-cert") {
      opts.ca_cert = value;
    } else if (flag == "--ca-key") {
      opts.ca_key = value;
    } else if (flag == "--count") {
      opts.count = std::strtol(value, nullptr, 10);
    } else if (flag == "--warmup") {
      opts.warmup = std::strtol(value, nullptr, 10);
    } else {
      opts.ca_cert.clear();
      break;
    }
  }
  if (argc % 2 == 0 || opts.ca_cert.empty() || opts.ca_key.empty() || opts.count <= 0 ||
      opts.warmup < 0) {
    std::cerr << "usage: ca_issue_bench --ca-cert CA_PEM --ca-key REF [--count N] [--warmup N]\n";
    return false;
  }
  return true;
}

/// Issues one cell certificate with a fresh leaf key; adds the key-generation time to `keygen`.
/// Returns the DER size (> 0) or 0 after printing the error.
int issue_one(grafos::pki::Issuer& issuer, long n, Clock::duration& keygen) {
  const auto t0 = Clock::now();
  auto key = grafos::hsm::generate_p256_key();
  keygen += Clock::now() - t0;
  if (!key) {
    std::cerr << "ca_issue_bench: error: " << key.error().message << "\n";
    return 0;
  }
  auto id = grafos::pki::make_cell_identity("bench", std::to_string(n + 1));
  if (!id) {
    std::cerr << "ca_issue_bench: error: " << id.error().message << "\n";
    return 0;
  }
  auto cert = issuer.issue(*id, key->get());
  if (!cert) {
    std::cerr << "ca_issue_bench: error: " << cert.error().message << "\n";
    return 0;
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert->get(), &der);
  OPENSSL_free(der);
  return len > 0 ? len : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (!parse_args(argc, argv, opts)) return 2;

  grafos::hsm::Interaction interaction;  // non-interactive: PIN from the URI or the environment
  const auto load_start = Clock::now();
  auto issuer = grafos::pki::load_issuer(opts.ca_cert, opts.ca_key, interaction);
  if (!issuer) {
    std::cerr << "ca_issue_bench: error: " << issuer.error().message << "\n";
    return 1;
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();

  Clock::duration keygen{};
  for (long i = 0; i < opts.warmup; ++i) {
    if (issue_one(*issuer, i, keygen) == 0) return 1;
  }
  keygen = {};
  long bytes = 0;
  const auto start = Clock::now();
  for (long i = 0; i < opts.count; ++i) {
    const int len = issue_one(*issuer, opts.warmup + i, keygen);
    if (len == 0) return 1;
    bytes += len;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double keygen_s = std::chrono::duration<double>(keygen).count();
  std::printf("load_issuer          %.3f s (once: key lookup, login, key-matches-certificate)\n",
              load_s);
  std::printf("issued               %ld certificates (%ld DER bytes) in %.3f s\n", opts.count,
              bytes, secs);
  std::printf("throughput           %.0f certs/s\n", opts.count / secs);
  std::printf("per certificate      %.1f us (leaf keygen %.1f us = %.0f%%)\n",
              1e6 * secs / opts.count, 1e6 * keygen_s / opts.count, 100.0 * keygen_s / secs);
  return 0;
}
