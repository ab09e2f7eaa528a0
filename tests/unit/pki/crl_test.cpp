#include "pki/crl.hpp"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "pki/identity.hpp"
#include "pki/issuer.hpp"

using namespace grafos;
using namespace grafos::pki;

namespace {

struct Ca {
  X509Ptr cert;
  std::unique_ptr<hsm::EvpSigner> signer;
};

Ca make_ca(int days = 3650) {
  Ca ca;
  ca.signer = std::make_unique<hsm::EvpSigner>(
      EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), "test CA key");
  auto id = make_ca_identity("CRL Test CA", 1);
  auto cert = create_ca_certificate(*id, *ca.signer, days);
  EXPECT_TRUE(cert) << cert.error().message;
  ca.cert = std::move(*cert);
  return ca;
}

LedgerEntry revoked(const std::string& serial, RevocationReason r, std::int64_t at) {
  LedgerEntry e;
  e.serial = serial;
  e.role = "tenant";
  e.state = CertState::revoked;
  e.revoked_at = at;
  e.reason = r;
  return e;
}

TEST(Crl, ListsEveryEntryWithReasonNumberAndAkiAndVerifies) {
  Ca ca = make_ca();
  std::int64_t now = time(nullptr);
  CrlRequest req{ca.cert.get(), {}, 7, now, now + 7 * 86400};
  req.revoked.push_back(revoked("0a", RevocationReason::key_compromise, now - 60));
  req.revoked.push_back(
      revoked("7fffffffffffffffffffffffffffffffffffffff", RevocationReason::superseded, now - 30));
  auto possibly = revoked("0b", RevocationReason::unspecified, now);
  possibly.state = CertState::reserved;
  possibly.revoked_at.reset();
  possibly.reserved_at = now - 10;
  req.revoked.push_back(possibly);
  req.revoked.back().invalidity_date = now - 3600;
  auto crl = build_crl(req, *ca.signer);
  ASSERT_TRUE(crl) << crl.error().message;
  X509_CRL* c = crl->get();
  EXPECT_EQ(X509_CRL_get_version(c), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_CRL_verify(c, X509_get0_pubkey(ca.cert.get())), 1);
  auto* num = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(c, NID_crl_number, nullptr, nullptr));
  ASSERT_NE(num, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(num), 7);
  ASN1_INTEGER_free(num);
  auto* aki = static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, nullptr, nullptr));
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(ca.cert.get())), 0);
  AUTHORITY_KEYID_free(aki);
  auto* entries = X509_CRL_get_REVOKED(c);
  ASSERT_EQ(sk_X509_REVOKED_num(entries), 3);
  int with_reason = 0;
  for (int i = 0; i < 3; ++i) {
    auto* r = sk_X509_REVOKED_value(entries, i);
    if (auto* code = static_cast<ASN1_ENUMERATED*>(
            X509_REVOKED_get_ext_d2i(r, NID_crl_reason, nullptr, nullptr))) {
      ++with_reason;
      ASN1_ENUMERATED_free(code);
    }
  }
  EXPECT_EQ(with_reason, 2) << "unspecified is written as no reasonCode (RFC 5280 5.3.1)";
  auto pem = crl_to_pem(c);
  ASSERT_TRUE(pem);
  EXPECT_TRUE(pem->starts_with("-----BEGIN X509 CRL-----"));
}

TEST(Crl, LintRefusesBeforeSigning) {
  Ca ca = make_ca(30);
  std::int64_t now = time(nullptr);
  struct Case {
    const char* what;
    CrlRequest req;
    const char* named;
  };
  auto twice = std::vector<LedgerEntry>{revoked("01", RevocationReason::superseded, now),
                                        revoked("01", RevocationReason::superseded, now)};
  auto not_revoked = revoked("02", RevocationReason::superseded, now);
  not_revoked.state = CertState::issued;
  std::vector<Case> cases = {
      {"nextUpdate past the CA",
       {ca.cert.get(), {}, 1, now, now + 31 * 86400},
       "CA certificate expires"},
      {"nextUpdate before thisUpdate", {ca.cert.get(), {}, 1, now, now - 1}, "after thisUpdate"},
      {"CRL number 0", {ca.cert.get(), {}, 0, now, now + 60}, "positive"},
      {"serial twice", {ca.cert.get(), twice, 1, now, now + 60}, "listed twice"},
      {"an issued row", {ca.cert.get(), {not_revoked}, 1, now, now + 60}, "not revoked"},
  };
  for (auto& c : cases) {
    auto r = build_crl(c.req, *ca.signer);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, Errc::policy) << c.what;
    EXPECT_NE(r.error().message.find(c.named), std::string::npos) << r.error().message;
  }
  hsm::EvpSigner other(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), "other");
  auto wrong = build_crl({ca.cert.get(), {}, 1, now, now + 60}, other);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::key_backend);
}

}  // namespace
