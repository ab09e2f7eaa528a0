#include "pki/inspect.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdint>
#include <ctime>
#include <string>

#include "pki/identity.hpp"
#include "pki/issuer.hpp"
#include "pki/lifecycle.hpp"
#include "pki/lint.hpp"
#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::pki {
namespace {

using nlohmann::ordered_json;

// RFC 2253 one-line form ("CN=tenant acme"), control bytes shown escaped.
std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !name) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return printable(bio_to_string(bio.get()));
}

std::string integer_hex(const ASN1_INTEGER* i) {
  BignumPtr bn(i ? ASN1_INTEGER_to_BN(i, nullptr) : nullptr);
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ordered_json key_fields(EVP_PKEY* key) {
  ordered_json j;
  j["key"] = describe_key(key);
  if (auto spki = spki_sha256(key)) j["spki_sha256"] = *spki;
  return j;
}

// The role and fabric identity a certificate's profile and URN SAN say.
void fabric_identity(X509* cert, ordered_json& j) {
  if (X509_check_ca(cert) > 0) {
    j["role"] = "ca";
    j["identity"] = nullptr;
    return;
  }
  if (!urn_sans(cert).empty()) {
    if (auto id = identity_from_cert(cert)) {
      j["role"] = std::string(role_name(id->role));
      j["identity"] = identity_urn(*id);
    } else {
      j["role"] = "unknown";
      j["identity"] = nullptr;
      j["identity_problem"] = id.error().message;
    }
    return;
  }
  const uint32_t xku = X509_get_extended_key_usage(cert);
  j["role"] = (xku & XKU_SSL_SERVER) ? "server" : "unknown";
  j["identity"] = nullptr;
}

std::vector<std::string> eku_names(X509* cert) {
  std::vector<std::string> out;
  const uint32_t xku = X509_get_extended_key_usage(cert);
  if (xku == UINT32_MAX) return out;  // no extension: any purpose
  if (xku & XKU_SSL_SERVER) out.emplace_back("serverAuth");
  if (xku & XKU_SSL_CLIENT) out.emplace_back("clientAuth");
  if (xku & XKU_CODE_SIGN) out.emplace_back("codeSigning");
  if (xku & XKU_TIMESTAMP) out.emplace_back("timeStamping");
  if (xku & XKU_OCSP_SIGN) out.emplace_back("OCSPSigning");
  return out;
}

ordered_json describe_certificate(X509* cert) {
  ordered_json j;
  j["kind"] = "certificate";
  j["subject"] = name_text(X509_get_subject_name(cert));
  j["issuer"] = name_text(X509_get_issuer_name(cert));
  j["serial"] = serial_hex(cert);
  j["not_before"] = rfc3339(X509_get0_notBefore(cert));
  j["not_after"] = rfc3339(X509_get0_notAfter(cert));
  std::time_t now = std::time(nullptr);
  j["expired"] = X509_cmp_time(X509_get0_notAfter(cert), &now) < 0;
  fabric_identity(cert, j);
  j["san"] = san_strings(cert);
  j["is_ca"] = X509_check_ca(cert) > 0;
  j["extended_key_usage"] = eku_names(cert);
  j["sha256"] = x509_sha256_fingerprint(cert);
  j.update(key_fields(X509_get0_pubkey(cert)));
  return j;
}

ordered_json describe_csr(X509_REQ* req) {
  ordered_json j;
  j["kind"] = "csr";
  j["subject"] = name_text(X509_REQ_get_subject_name(req));
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  j["signature_valid"] = key && X509_REQ_verify(req, key) == 1;
  drain_ossl_errors();
  j.update(key_fields(key));
  // The CSR's own DER hash identifies the file; its requested extensions are never used.
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(req, &der);
  if (len > 0) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr);
    j["sha256"] = to_hex(std::span<const unsigned char>(md, md_len));
  }
  OPENSSL_free(der);
  return j;
}

ordered_json describe_crl(X509_CRL* crl) {
  ordered_json j;
  j["kind"] = "crl";
  j["issuer"] = name_text(X509_CRL_get_issuer(crl));
  Asn1IntegerPtr number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  j["crl_number"] = number ? integer_hex(number.get()) : "";
  j["this_update"] = rfc3339(X509_CRL_get0_lastUpdate(crl));
  j["next_update"] =
      X509_CRL_get0_nextUpdate(crl) ? rfc3339(X509_CRL_get0_nextUpdate(crl)) : std::string();
  auto revoked = ordered_json::array();
  STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(list); ++i) {
    const X509_REVOKED* r = sk_X509_REVOKED_value(list, i);
    revoked.push_back({{"serial", integer_hex(X509_REVOKED_get0_serialNumber(r))},
                       {"revoked_at", rfc3339(X509_REVOKED_get0_revocationDate(r))}});
  }
  j["revoked"] = std::move(revoked);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_CRL_digest(crl, EVP_sha256(), md, &md_len) == 1)
    j["sha256"] = to_hex(std::span<const unsigned char>(md, md_len));
  return j;
}

// The PEM label of the first block in `data`, or empty.
std::string pem_label(std::string_view data) {
  auto begin = data.find("-----BEGIN ");
  if (begin == std::string_view::npos) return {};
  auto end = data.find("-----", begin + 11);
  if (end == std::string_view::npos) return {};
  return std::string(data.substr(begin + 11, end - begin - 11));
}

}  // namespace

Result<std::optional<ordered_json>> inspect_x509(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return ossl_error(Errc::crypto, "allocating a buffer");
  const std::string label = pem_label(data);
  auto unreadable = [&](const char* what) -> Error {
    drain_ossl_errors();
    return Error{Errc::invalid_input, std::string("a PEM ") + what + " that cannot be parsed"};
  };
  if (label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE") {
    X509Ptr cert(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return unreadable("certificate");
    return std::optional<ordered_json>(describe_certificate(cert.get()));
  }
  if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST") {
    X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!req) return unreadable("CSR");
    return std::optional<ordered_json>(describe_csr(req.get()));
  }
  if (label == "X509 CRL") {
    X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!crl) return unreadable("CRL");
    return std::optional<ordered_json>(describe_crl(crl.get()));
  }
  if (!label.empty()) return std::optional<ordered_json>();
  // DER: each structure must take the whole input.
  const auto* begin = reinterpret_cast<const unsigned char*>(data.data());
  const auto* end = begin + data.size();
  const unsigned char* p = begin;
  if (X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(data.size()))); cert && p == end)
    return std::optional<ordered_json>(describe_certificate(cert.get()));
  p = begin;
  if (X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size()))); req && p == end)
    return std::optional<ordered_json>(describe_csr(req.get()));
  p = begin;
  if (X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size()))); crl && p == end)
    return std::optional<ordered_json>(describe_crl(crl.get()));
  drain_ossl_errors();
  return std::optional<ordered_json>();
}

}  // namespace grafos::pki
