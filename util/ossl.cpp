#include "util/ossl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "util/bytes.hpp"

namespace grafos {

std::string drain_ossl_errors() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Error ossl_error(Errc code, std::string_view what) {
  std::string detail = drain_ossl_errors();
  std::string msg(what);
  if (!detail.empty()) msg += " (" + detail + ")";
  return Error{code, std::move(msg)};
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<std::string> x509_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return ossl_error(Errc::crypto, "encoding certificate as PEM");
  return bio_to_string(bio.get());
}

Result<std::string> private_key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return ossl_error(Errc::crypto, "encoding private key as PEM");
  return bio_to_string(bio.get());
}

Result<std::string> public_key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1)
    return ossl_error(Errc::crypto, "encoding public key as PEM");
  return bio_to_string(bio.get());
}

Result<X509Ptr> x509_from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return ossl_error(Errc::invalid_input, "not a PEM certificate");
  return cert;
}

std::string x509_sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  return to_hex(std::span<const unsigned char>(md, len));
}

bool public_keys_equal(const EVP_PKEY* a, const EVP_PKEY* b) {
  return a && b && EVP_PKEY_eq(a, b) == 1;
}

}  // namespace grafos

namespace grafos {

std::optional<EcPublicKey> ec_public_key(EVP_PKEY* key) {
  char group[64] = {};
  size_t group_len = 0;
  unsigned char* point = nullptr;
  size_t point_len = 0;
  if (!key || !EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_group_name(key, group, sizeof group, &group_len) != 1 ||
      (point_len = EVP_PKEY_get1_encoded_public_key(key, &point)) == 0) {
    OPENSSL_free(point);
    drain_ossl_errors();
    return std::nullopt;
  }
  EcPublicKey out{std::string(group, group_len), Bytes(point, point + point_len)};
  OPENSSL_free(point);
  return out;
}

}  // namespace grafos
