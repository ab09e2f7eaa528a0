// The subject-key checks behind --csr: OpenSSL's public-key checks plus the exponent floor. A CSR
// for an RSA key with exponent 1 was once signed into a fabric-admin certificate.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "pki/lint.hpp"
#include "util/ossl.hpp"

using namespace grafos;

namespace {

// An RSA public key with the modulus of a real 2048-bit key and exponent `e`.
EvpPkeyPtr rsa_with_exponent(unsigned long e) {
  EvpPkeyPtr real(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(real.get(), OSSL_PKEY_PARAM_RSA_N, &n), 1);
  BignumPtr nn(n), ee(BN_new());
  BN_set_word(ee.get(), e);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, nn.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ee.get());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* out = nullptr;
  EVP_PKEY_fromdata_init(ctx.get());
  EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return EvpPkeyPtr(out);
}

TEST(SubjectKey, RsaExponentBelow65537OrEvenIsRefused) {
  for (unsigned long e : {1ul, 3ul, 17ul, 257ul, 65536ul}) {
    auto k = rsa_with_exponent(e);
    ASSERT_TRUE(k) << e;
    auto r = pki::check_subject_key_policy(k.get());
    ASSERT_FALSE(r) << "exponent " << e;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
  }
  auto good = rsa_with_exponent(65537);
  EXPECT_TRUE(pki::check_subject_key_policy(good.get())) << "65537 is the usual exponent";
}

TEST(SubjectKey, EcKeysOfTheAllowedCurvesPass) {
  for (const char* curve : {"P-256", "P-384"}) {
    EvpPkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    EXPECT_TRUE(pki::check_subject_key_policy(k.get())) << curve;
  }
}

}  // namespace
