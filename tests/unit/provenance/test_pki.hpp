// Test fixtures for provenance tests: an in-memory CA and leaf certificates made with OpenSSL's
// X509 API (profiles as in DESIGN.md section 4), temp directories and small file helpers.
#pragma once

#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "hsm/file/file_key_manager.hpp"
#include "util/ossl.hpp"

namespace grafos::testing {

/// A temp directory removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "grafos-prov-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Writes `data` to `path`.
inline void write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

/// Reads a whole file.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A key pair and its certificate.
struct KeyCert {
  EvpPkeyPtr key;
  X509Ptr cert;
};

/// What a test leaf looks like.
struct LeafSpec {
  std::string cn = "provenance-signer ci";
  std::string san = "URI:urn:fabricbios:provenance-signer:ci";
  std::string eku = "codeSigning";
  std::string key_usage = "critical,digitalSignature";
  long not_before_days = -1;
  long not_after_days = 365;
};

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext) {
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
}

inline X509Ptr make_cert(EVP_PKEY* subject_key, const std::string& cn, X509* issuer,
                         EVP_PKEY* issuer_key, long nb_days, long na_days) {
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  static long serial = 1000;
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), nb_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), na_days * 86400);
  X509_set_pubkey(c.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return c;
}

/// A self-signed fabric CA (CA:TRUE, keyCertSign).
inline KeyCert make_ca(const std::string& cn = "Test Fabric CA") {
  KeyCert kc;
  kc.key = std::move(*hsm::generate_p256_key());
  kc.cert = make_cert(kc.key.get(), cn, nullptr, nullptr, -2, 3650);
  add_ext(kc.cert.get(), kc.cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:1");
  add_ext(kc.cert.get(), kc.cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(kc.cert.get(), kc.cert.get(), NID_subject_key_identifier, "hash");
  X509_sign(kc.cert.get(), kc.key.get(), EVP_sha256());
  return kc;
}

/// A leaf issued by `ca` following `spec`.
inline KeyCert make_leaf(const KeyCert& ca, const LeafSpec& spec = {}) {
  KeyCert kc;
  kc.key = std::move(*hsm::generate_p256_key());
  kc.cert = make_cert(kc.key.get(), spec.cn, ca.cert.get(), ca.key.get(), spec.not_before_days,
                      spec.not_after_days);
  add_ext(kc.cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(kc.cert.get(), ca.cert.get(), NID_key_usage, spec.key_usage);
  add_ext(kc.cert.get(), ca.cert.get(), NID_ext_key_usage, spec.eku);
  add_ext(kc.cert.get(), ca.cert.get(), NID_subject_alt_name, spec.san);
  add_ext(kc.cert.get(), ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  X509_sign(kc.cert.get(), ca.key.get(), EVP_sha256());
  return kc;
}

/// PEM of a certificate.
inline std::string pem(const KeyCert& kc) { return *x509_to_pem(kc.cert.get()); }

}  // namespace grafos::testing
