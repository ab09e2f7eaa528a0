// RAII owners for OpenSSL objects and the error-queue boundary helper.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

#include "util/result.hpp"

namespace grafos {

template <auto Fn>
struct OsslDeleter {
  template <class P>
  void operator()(P* p) const noexcept {
    Fn(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OsslDeleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, OsslDeleter<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OsslDeleter<ASN1_TIME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslDeleter<GENERAL_NAMES_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslDeleter<X509_CRL_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OsslDeleter<X509_REVOKED_free>>;

/// Drains the OpenSSL error queue into one string ("" when empty).
std::string drain_ossl_errors();

/// An Error whose message is `what` plus the drained OpenSSL error queue.
Error ossl_error(Errc code, std::string_view what);

/// Memory BIO contents as a string.
std::string bio_to_string(BIO* bio);

/// PEM encodings.
Result<std::string> x509_to_pem(X509* cert);
Result<std::string> private_key_to_pem(EVP_PKEY* key);
Result<std::string> public_key_to_pem(EVP_PKEY* key);

/// Parses the first PEM certificate in `pem`.
Result<X509Ptr> x509_from_pem(std::string_view pem);

/// SHA-256 fingerprint of the DER certificate as lowercase hex with no separators.
std::string x509_sha256_fingerprint(X509* cert);

/// An EC public key as its curve and encoded point, read from the key's parameters (provider
/// keys) or its legacy EC_KEY (libp11's PKCS#11 keys) without an OSSL_ENCODER/OSSL_DECODER round
/// trip, which in OpenSSL 3.0 costs millions of instructions per key.
struct EcPublicKey {
  std::string group;  ///< OpenSSL group name ("prime256v1")
  Bytes point;        ///< encoded point as the key gives it (0x04 || X || Y when uncompressed)
};

/// The curve and point of `key`; nullopt when it is not an EC key or does not hand them out.
std::optional<EcPublicKey> ec_public_key(EVP_PKEY* key);

/// True when both keys have the same public half.
bool public_keys_equal(const EVP_PKEY* a, const EVP_PKEY* b);

}  // namespace grafos
