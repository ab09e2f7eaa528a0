// botan_verify: an independent verifier for certificates issued by grafos-ca, built on Botan 2.
//
// Usage: botan_verify [--print] [--hostname NAME] [--eku OID] CA_PEM CERT_PEM USAGE
//   USAGE is one of: tls-client, tls-server, ca, any.
//   --hostname NAME  also check the certificate against NAME (server certificates).
//   --eku OID        also require the extended key usage OID (e.g. 1.3.6.1.5.5.7.3.3).
//   --print          print what Botan decoded (SAN entries, EKU OIDs, serial, SKI/AKI, ...).
//
// Exit status: 0 the path validates for USAGE, 1 it does not (reason on stderr),
// 2 bad usage or unreadable input.
#include <botan/certstor.h>
#include <botan/data_src.h>
#include <botan/hex.h>
#include <botan/pkix_types.h>
#include <botan/x509_crl.h>
#include <botan/x509cert.h>
#include <botan/x509path.h>

#include <chrono>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

/// Command-line options of botan_verify.
struct Options {
  std::string ca_path;
  std::string cert_path;
  std::string usage;
  std::string hostname;
  std::string eku;
  std::string crl;  ///< a CRL of the CA: revocation is then required and checked
  bool print = false;
};

/// Maps a USAGE argument to Botan's Usage_Type; nullopt for an unknown name.
std::optional<Botan::Usage_Type> parse_usage(const std::string& name) {
  static const std::map<std::string, Botan::Usage_Type> kUsages = {
      {"tls-client", Botan::Usage_Type::TLS_CLIENT_AUTH},
      {"tls-server", Botan::Usage_Type::TLS_SERVER_AUTH},
      {"ca", Botan::Usage_Type::CERTIFICATE_AUTHORITY},
      {"any", Botan::Usage_Type::UNSPECIFIED},
  };
  auto it = kUsages.find(name);
  if (it == kUsages.end()) return std::nullopt;
  return it->second;
}

/// Parses argv; nullopt (after a message on stderr) when the arguments are malformed.
std::optional<Options> parse_args(int argc, char** argv) {
  Options opts;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--print") {
      opts.print = true;
    } else if ((arg == "--hostname" || arg == "--eku") && i + 1 < argc) {
      (arg == "--hostname" ? opts.hostname : opts.eku) = argv[++i];
    } else if (arg == "--crl" && i + 1 < argc) {
      opts.crl = argv[++i];
    } else if (arg.starts_with("--")) {
      std::cerr << "botan_verify: error: unknown or incomplete option " << arg << "\n";
      return std::nullopt;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 3) {
    std::cerr << "usage: botan_verify [--print] [--hostname NAME] [--eku OID] [--crl CRL_PEM] "
                 "CA_PEM CERT_PEM "
                 "tls-client|tls-server|ca|any\n";
    return std::nullopt;
  }
  opts.ca_path = positional[0];
  opts.cert_path = positional[1];
  opts.usage = positional[2];
  return opts;
}

/// Prints the fields Botan decoded so the test can compare them with the profile.
void print_certificate(const Botan::X509_Certificate& cert) {
  for (const auto& [type, value] : cert.subject_alt_name().contents()) {
    std::cout << "san " << type << ":" << value << "\n";
  }
  for (const auto& oid : cert.extended_key_usage()) {
    std::cout << "eku " << oid.to_string() << "\n";
  }
  std::cout << "ca " << (cert.is_CA_cert() ? "true" : "false") << "\n";
  std::cout << "basic_constraints_critical "
            << (cert.is_critical("X509v3.BasicConstraints") ? "true" : "false") << "\n";
  std::cout << "key_usage_critical " << (cert.is_critical("X509v3.KeyUsage") ? "true" : "false")
            << "\n";
  std::cout << "serial " << Botan::hex_encode(cert.serial_number()) << "\n";
  std::cout << "ski " << Botan::hex_encode(cert.subject_key_id()) << "\n";
  std::cout << "aki " << Botan::hex_encode(cert.authority_key_id()) << "\n";
  std::cout << "sig_algo " << cert.signature_algorithm().get_oid().to_formatted_string() << "\n";
  for (const auto& cn : cert.subject_info("Name")) std::cout << "cn " << cn << "\n";
}

/// Runs the validation; returns the process exit status.
int run(const Options& opts) {
  const auto usage = parse_usage(opts.usage);
  if (!usage) {
    std::cerr << "botan_verify: error: unknown usage '" << opts.usage << "'\n";
    return 2;
  }
  const Botan::X509_Certificate ca(opts.ca_path);
  const Botan::X509_Certificate cert(opts.cert_path);
  if (opts.print) print_certificate(cert);

  // Revocation required only when a CRL is given; 128-bit minimum strength (P-256 gives 128).
  const Botan::Path_Validation_Restrictions restrictions(/*require_rev=*/!opts.crl.empty(),
                                                         /*minimum_key_strength=*/128);
  const auto now = std::chrono::system_clock::now();
  Botan::Path_Validation_Result result(Botan::Certificate_Status_Code::CANNOT_ESTABLISH_TRUST);
  if (cert.is_self_signed() && cert == ca) {
    // Botan 2's x509_path_validate refuses any self-signed end entity during path building, so
    // the trust anchor itself is checked with the step it runs on every built path: check_chain
    // (self-signature, validity, extensions, key usage for USAGE) on the one-certificate path.
    const std::vector<std::shared_ptr<const Botan::X509_Certificate>> path = {
        std::make_shared<const Botan::X509_Certificate>(cert)};
    result = Botan::Path_Validation_Result(
        Botan::PKIX::check_chain(path, now, opts.hostname, *usage,
                                 restrictions.minimum_key_strength(),
                                 restrictions.trusted_hashes()),
        std::vector<std::shared_ptr<const Botan::X509_Certificate>>(path));
  } else {
    Botan::Certificate_Store_In_Memory store;
    store.add_certificate(ca);
    if (!opts.crl.empty()) {
      Botan::DataSource_Stream in(opts.crl);
      store.add_crl(Botan::X509_CRL(in));
    }
    result = Botan::x509_path_validate(cert, restrictions, store, opts.hostname, *usage, now);
  }
  if (!result.successful_validation()) {
    std::cerr << "botan_verify: " << opts.cert_path << ": " << result.result_string() << "\n";
    return 1;
  }
  if (!opts.eku.empty() && !cert.allowed_extended_usage(Botan::OID(opts.eku))) {
    std::cerr << "botan_verify: " << opts.cert_path << ": extended key usage " << opts.eku
              << " not allowed\n";
    return 1;
  }
  std::cout << "result " << result.result_string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto opts = parse_args(argc, argv);
  if (!opts) return 2;
  try {
    return run(*opts);
  } catch (const std::exception& e) {
    std::cerr << "botan_verify: error: " << e.what() << "\n";
    return 2;
  }
}
