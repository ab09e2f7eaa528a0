#include "hsm/key_manager.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>

#include "hsm/uri.hpp"

namespace grafos::hsm {

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::file:
      return "file";
    case Backend::pkcs11:
      return "pkcs11";
    case Backend::tpm:
      return "tpm";
  }
  return "file";
}

Backend classify_key_ref(std::string_view ref) {
  // The scheme in any case, as parse_pkcs11_uri accepts it: "PKCS11:..." must never become a
  // file path (the file backend would write the key under a name holding the URI's PIN).
  if (has_pkcs11_scheme(ref)) return Backend::pkcs11;
  if (ref.starts_with("handle:")) return Backend::tpm;
  // A PEM file labelled TSS2 PRIVATE KEY belongs to the TPM; peek at the first line only.
  std::ifstream in{std::string(ref)};
  std::string first;
  if (in && std::getline(in, first) && first.starts_with("-----BEGIN TSS2 PRIVATE KEY-----"))
    return Backend::tpm;
  // A key still to be created names its backend by suffix: "ca-key.tss2.pem" goes to the TPM.
  if (!in && ref.ends_with(".tss2.pem")) return Backend::tpm;
  return Backend::file;
}

std::string redact_key_ref(std::string_view ref) { return redact_pkcs11_uri(ref); }

Error Signer::signing_error(std::string_view what) const {
  return ossl_error(Errc::key_backend, std::string(what) + " with " + description());
}

Result<Bytes> Signer::sign(std::span<const unsigned char> message) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return ossl_error(Errc::crypto, "allocating digest context");
  if (auto r = init_digest_sign(ctx.get()); !r) return std::move(r).error();
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1)
    return signing_error("signing");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
    return signing_error("signing");
  sig.resize(len);
  return sig;
}

namespace {
// Converts a raw r||s ECDSA signature to DER; returns empty when `raw` is not of that form.
Bytes raw_ecdsa_to_der(EVP_PKEY* pub, std::span<const unsigned char> raw) {
  int bits = EVP_PKEY_get_bits(pub);
  size_t n = static_cast<size_t>((bits + 7) / 8);
  if (raw.size() != 2 * n) return {};
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + n, static_cast<int>(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return {};
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}
}  // namespace

Result<void> verify_signature(EVP_PKEY* pub, std::span<const unsigned char> message,
                              std::span<const unsigned char> signature) {
  if (signature.empty()) return Error{Errc::crypto, "signature is empty"};
  Bytes converted;
  if (EVP_PKEY_is_a(pub, "EC")) {
    // Accept raw r||s as well as DER (the DSSE/Sigstore ecosystem produces both).
    converted = raw_ecdsa_to_der(pub, signature);
    if (!converted.empty()) signature = converted;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pub) != 1)
    return ossl_error(Errc::crypto, "initialising signature verification");
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  if (rc != 1) {
    drain_ossl_errors();
    return Error{Errc::crypto, "signature does not verify"};
  }
  return ok();
}

Result<EvpPkeyPtr> tls_private_key(Signer& signer) {
  // The Signer contract hands out a signing context, not the key: take the key from it.
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md) return ossl_error(Errc::crypto, "allocating a digest context");
  if (auto r = signer.init_digest_sign(md.get()); !r) return std::move(r).error();
  EVP_PKEY* pk = EVP_PKEY_CTX_get0_pkey(EVP_MD_CTX_get_pkey_ctx(md.get()));
  if (!pk || EVP_PKEY_up_ref(pk) != 1)
    return ossl_error(Errc::key_backend, "reading the private key of " + signer.description());
  return EvpPkeyPtr(pk);
}

namespace {
// A public-only copy of an EC key, built from its curve and point (ec_public_key): no
// OSSL_ENCODER/OSSL_DECODER chain, a large share of a short grafos-ca process in OpenSSL 3.0.
// nullptr when the key does not hand those out.
EvpPkeyPtr ec_public_from_params(EVP_PKEY* key) {
  auto ec = ec_public_key(key);
  if (!ec) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, ec->group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, ec->point.data(),
                                        ec->point.size()),
      OSSL_PARAM_construct_end()};
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pub = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pub, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    drain_ossl_errors();
    return nullptr;
  }
  return EvpPkeyPtr(pub);
}

EvpPkeyPtr public_half(EVP_PKEY* key) {
  if (EvpPkeyPtr pub = ec_public_from_params(key)) return pub;
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return nullptr;
  const unsigned char* p = der;
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  return pub;
}
}  // namespace

EvpSigner::EvpSigner(EvpPkeyPtr key, std::string description, std::shared_ptr<void> keep_alive,
                     OSSL_LIB_CTX* libctx, std::string propq)
    : keep_alive_(std::move(keep_alive)),
      key_(std::move(key)),
      public_(public_half(key_.get())),
      description_(std::move(description)),
      libctx_(libctx),
      propq_(std::move(propq)) {}

EvpSigner::~EvpSigner() {
  key_.reset();  // before keep_alive_ (the session or provider the key lives in)
}

Result<void> EvpSigner::init_digest_sign(EVP_MD_CTX* ctx) {
  if (!public_) return ossl_error(Errc::key_backend, "reading the public key of " + description_);
  if (EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", libctx_,
                            propq_.empty() ? nullptr : propq_.c_str(), key_.get(), nullptr) != 1)
    return ossl_error(Errc::key_backend, "initialising signing with " + description_);
  return ok();
}

}  // namespace grafos::hsm
