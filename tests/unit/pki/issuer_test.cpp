#include "pki/issuer.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/csr.hpp"
#include "pki/lint.hpp"
#include "pki/profile.hpp"

using namespace grafos;
using namespace grafos::pki;

namespace {

EvpPkeyPtr keygen(const char* type, const char* param) {
  if (std::string(type) == "RSA")
    return EvpPkeyPtr(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(std::stoul(param))));
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param));
}

// A real file-style key behind hsm::EvpSigner, counting every time it is asked to sign.
class CountingSigner : public hsm::Signer {
 public:
  explicit CountingSigner(EvpPkeyPtr key) : inner_(std::move(key), "test CA key") {}
  EVP_PKEY* public_key() const override { return inner_.public_key(); }
  Result<void> init_digest_sign(EVP_MD_CTX* ctx) override {
    ++sign_calls;
    return inner_.init_digest_sign(ctx);
  }
  std::string description() const override { return inner_.description(); }
  int sign_calls = 0;

 private:
  hsm::EvpSigner inner_;
};

// Claims one public key but signs with another: a faulty HSM.
class FaultySigner : public hsm::Signer {
 public:
  FaultySigner(EVP_PKEY* claimed, EvpPkeyPtr actual)
      : claimed_(claimed), inner_(std::move(actual), "faulty HSM") {
    EVP_PKEY_up_ref(claimed_);
  }
  ~FaultySigner() override { EVP_PKEY_free(claimed_); }
  EVP_PKEY* public_key() const override { return claimed_; }
  Result<void> init_digest_sign(EVP_MD_CTX* ctx) override { return inner_.init_digest_sign(ctx); }
  std::string description() const override { return "faulty HSM"; }

 private:
  EVP_PKEY* claimed_;
  hsm::EvpSigner inner_;
};

struct TestCa {
  X509Ptr cert;
  EvpPkeyPtr key;
};

TestCa make_ca(int days = 3650, int path_len = 1) {
  TestCa ca;
  ca.key = keygen("EC", "P-256");
  EVP_PKEY_up_ref(ca.key.get());
  hsm::EvpSigner signer(EvpPkeyPtr(ca.key.get()), "ca");
  auto id = make_ca_identity("Test Fabric CA", path_len);
  auto cert = create_ca_certificate(*id, signer, days);
  EXPECT_TRUE(cert) << (cert ? "" : cert.error().message);
  ca.cert = std::move(*cert);
  return ca;
}

Issuer make_issuer(const TestCa& ca, CountingSigner** counter = nullptr) {
  EVP_PKEY_up_ref(ca.key.get());
  auto s = std::make_unique<CountingSigner>(EvpPkeyPtr(ca.key.get()));
  if (counter) *counter = s.get();
  auto issuer = Issuer::create(X509Ptr(X509_dup(ca.cert.get())), std::move(s));
  EXPECT_TRUE(issuer);
  return std::move(*issuer);
}

std::vector<int> ekus(X509* cert) {
  std::vector<int> out;
  auto* e =
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
  for (int i = 0; e && i < sk_ASN1_OBJECT_num(e); ++i)
    out.push_back(OBJ_obj2nid(sk_ASN1_OBJECT_value(e, i)));
  EXTENDED_KEY_USAGE_free(e);
  return out;
}

std::string cn_of(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

TEST(Issuer, CaCertificateProfile) {
  TestCa ca = make_ca(3650, 1);
  X509* c = ca.cert.get();
  EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
  EXPECT_EQ(X509_verify(c, ca.key.get()), 1);
  EXPECT_EQ(X509_check_ca(c), 1);
  EXPECT_EQ(X509_get_pathlen(c), 1);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_get_extension_flags(c) & EXFLAG_CRITICAL, 0u) << "no unknown critical extension";
  EXPECT_EQ(X509_get_ext_by_NID(c, NID_name_constraints, -1), -1) << "no name constraints";
  EXPECT_EQ(X509_get_ext_by_NID(c, NID_subject_alt_name, -1), -1);
  EXPECT_EQ(cn_of(c), "Test Fabric CA");
  EXPECT_NE(X509_get0_subject_key_id(c), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(c), X509_get0_authority_key_id(c)), 0);
  int sig_nid = X509_get_signature_nid(c);
  EXPECT_EQ(sig_nid, NID_ecdsa_with_SHA256);
  EXPECT_TRUE(lint_certificate(c, *make_ca_identity("Test Fabric CA", 1), nullptr));
}

TEST(Issuer, EveryRoleGetsItsProfile) {
  TestCa ca = make_ca();
  CountingSigner* counter = nullptr;
  Issuer issuer = make_issuer(ca, &counter);
  const struct {
    Result<Identity> id;
    std::vector<std::string> san;
    std::string cn;
    int eku;
  } cases[] = {
      {make_tenant_identity("acme"), {"URI:urn:fabricbios:tenant:acme"}, "acme", NID_client_auth},
      {make_fabric_observer_identity(),
       {"URI:urn:fabricbios:fabric-observer"},
       "fabric-observer",
       NID_client_auth},
      {make_fabric_admin_identity(),
       {"URI:urn:fabricbios:fabric-admin"},
       "fabric-admin",
       NID_client_auth},
      {make_cell_identity("aws", "18446744073709551615"),
       {"URI:urn:fabricbios:cell:aws:18446744073709551615"},
       "cell aws/18446744073709551615",
       NID_client_auth},
      {make_provenance_signer_identity("ami-bake"),
       {"URI:urn:fabricbios:provenance-signer:ami-bake"},
       "provenance-signer ami-bake",
       NID_code_sign},
      {make_timestamp_authority_identity("tsa-1"),
       {"URI:urn:fabricbios:timestamp-authority:tsa-1"},
       "timestamp-authority tsa-1",
       NID_time_stamp},
      {make_server_identity({"sched.example,10.0.0.1,::1"}),
       {"DNS:sched.example", "IP:10.0.0.1", "IP:::1"},
       "sched.example",
       NID_server_auth},
  };
  int expected_calls = 0;
  for (const auto& c : cases) {
    ASSERT_TRUE(c.id);
    EvpPkeyPtr leaf = keygen("EC", "P-256");
    auto cert = issuer.issue(*c.id, leaf.get());
    ASSERT_TRUE(cert) << cert.error().message;
    ++expected_calls;
    X509* x = cert->get();
    EXPECT_EQ(X509_verify(x, ca.key.get()), 1);
    EXPECT_EQ(san_strings(x), c.san);
    EXPECT_EQ(cn_of(x), c.cn);
    EXPECT_EQ(ekus(x), std::vector<int>{c.eku});
    EXPECT_EQ(X509_check_ca(x), 0);
    EXPECT_EQ(X509_get_key_usage(x), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_EQ(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                                    X509_get0_subject_key_id(ca.cert.get())),
              0);
    // Serial: positive, at most 20 octets, effectively 20 random bytes.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);
    EXPECT_LE(ASN1_STRING_length(serial), 20);
    EXPECT_GE(ASN1_STRING_length(serial), 8);
    // 365 days by default.
    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x)), 1);
    EXPECT_TRUE(days == 364 || days == 365) << days;
    // UTF8String subject.
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(x), 0));
    EXPECT_EQ(ASN1_STRING_type(cn), V_ASN1_UTF8STRING);
  }
  EXPECT_EQ(counter->sign_calls, expected_calls);
}

TEST(Issuer, SerialsDiffer) {
  TestCa ca = make_ca();
  Issuer issuer = make_issuer(ca);
  auto id = make_fabric_admin_identity();
  EvpPkeyPtr leaf = keygen("EC", "P-256");
  auto a = issuer.issue(id, leaf.get());
  auto b = issuer.issue(id, leaf.get());
  ASSERT_TRUE(a && b);
  EXPECT_NE(serial_hex(a->get()), serial_hex(b->get()));
}

// A deliberately broken profile must be refused by the linter before the key is asked to sign.
TEST(Issuer, BrokenProfileRefusedWithoutSigning) {
  TestCa ca = make_ca();
  CountingSigner* counter = nullptr;
  Issuer issuer = make_issuer(ca, &counter);
  auto tenant = *make_tenant_identity("acme");
  auto server = *make_server_identity({"a.example,10.0.0.1"});
  auto tsa = *make_timestamp_authority_identity("tsa-1");
  const struct {
    const char* what;
    Identity id;
    std::function<void(Profile&)> breakit;
    const char* rule;
  } cases[] = {
      {"leaf marked CA", tenant, [](Profile& p) { p.is_ca = true; }, "CA:FALSE"},
      {"pathLen on a leaf", tenant, [](Profile& p) { p.path_len = 0; }, "pathLenConstraint"},
      {"wrong SAN", tenant,
       [](Profile& p) {
         p.sans = {{SanEntry::Kind::uri, "urn:fabricbios:tenant:evil"}};
       },
       "subjectAltName"},
      {"extra SAN", tenant,
       [](Profile& p) {
         p.sans.push_back({SanEntry::Kind::dns, "evil.example"});
       },
       "subjectAltName"},
      {"missing SAN", tenant, [](Profile& p) { p.sans.clear(); }, "missing extension"},
      {"extra EKU", tenant, [](Profile& p) { p.eku_nids.push_back(NID_server_auth); },
       "extendedKeyUsage"},
      {"wrong EKU", tenant, [](Profile& p) { p.eku_nids = {NID_code_sign}; }, "extendedKeyUsage"},
      {"missing EKU", tenant, [](Profile& p) { p.eku_nids.clear(); }, "missing extension"},
      {"extra key usage", tenant, [](Profile& p) { p.key_usage |= KU_KEY_ENCIPHERMENT; },
       "keyUsage"},
      {"keyCertSign on a leaf", tenant, [](Profile& p) { p.key_usage |= KU_KEY_CERT_SIGN; },
       "keyUsage"},
      {"wrong CN", tenant, [](Profile& p) { p.common_name = "root"; }, "subject CN"},
      {"server with clientAuth", server, [](Profile& p) { p.eku_nids = {NID_client_auth}; },
       "extendedKeyUsage"},
      {"server SANs reordered", server, [](Profile& p) { std::swap(p.sans[0], p.sans[1]); },
       "subjectAltName"},
      // RFC 3161 2.3: a TSA certificate's EKU is timeStamping alone, and critical.
      {"TSA EKU not critical", tsa, [](Profile& p) { p.eku_critical = false; },
       "extendedKeyUsage must be critical"},
      {"TSA with a second EKU", tsa, [](Profile& p) { p.eku_nids.push_back(NID_code_sign); },
       "extendedKeyUsage"},
      {"critical EKU on a tenant", tenant, [](Profile& p) { p.eku_critical = true; },
       "extendedKeyUsage must not be critical"},
  };
  for (const auto& c : cases) {
    Profile p = profile_for(c.id);
    c.breakit(p);
    EvpPkeyPtr leaf = keygen("EC", "P-256");
    auto r = issuer.issue_with_profile(c.id, p, leaf.get(), 30);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, Errc::policy) << c.what;
    EXPECT_NE(r.error().message.find(c.rule), std::string::npos)
        << c.what << ": " << r.error().message;
  }
  EXPECT_EQ(counter->sign_calls, 0) << "the CA key must not be asked to sign";
}

// The SubjectPublicKeyInfo the issuer writes is byte for byte the key's own DER encoding
// (i2d_PUBKEY), for the EC fast path and for the X509_set_pubkey path alike; an EC key that
// prefers compressed points is written uncompressed (RFC 5480's MUST form); keys outside the
// policy are stopped by the linter before the CA key is asked to sign.
TEST(Issuer, SubjectPublicKeyInfoAndKeyPolicy) {
  TestCa ca = make_ca();
  CountingSigner* counter = nullptr;
  Issuer issuer = make_issuer(ca, &counter);
  auto tenant = *make_tenant_identity("acme");
  const struct {
    const char* type;
    const char* param;
    bool compressed;
    bool accepted;
  } cases[] = {
      {"EC", "P-256", false, true},  {"EC", "P-384", false, true},
      {"EC", "P-256", true, true},   {"RSA", "2048", false, true},
      {"EC", "P-521", false, false}, {"EC", "secp256k1", false, false},
      {"RSA", "1024", false, false}, {"EC", "prime192v1", false, false},
  };
  for (const auto& c : cases) {
    EvpPkeyPtr key = keygen(c.type, c.param);
    ASSERT_TRUE(key) << c.type << " " << c.param;
    if (c.compressed) {
      ASSERT_EQ(EVP_PKEY_set_utf8_string_param(key.get(), "point-format", "compressed"), 1);
    }
    int before = counter->sign_calls;
    auto cert = issuer.issue(tenant, key.get(), 30);
    std::string what = std::string(c.type) + " " + c.param + (c.compressed ? " compressed" : "");
    ASSERT_EQ(cert.has_value(), c.accepted) << what;
    if (!cert) {
      EXPECT_EQ(cert.error().code, Errc::policy) << what;
      EXPECT_NE(cert.error().message.find("is not allowed"), std::string::npos)
          << what << ": " << cert.error().message;
      EXPECT_EQ(counter->sign_calls, before) << what << ": the CA key must not be asked to sign";
      continue;
    }
    if (c.compressed) {
      ASSERT_EQ(EVP_PKEY_set_utf8_string_param(key.get(), "point-format", "uncompressed"), 1);
    }
    unsigned char* want = nullptr;
    int want_len = i2d_PUBKEY(key.get(), &want);
    unsigned char* got = nullptr;
    int got_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert->get()), &got);
    ASSERT_GT(want_len, 0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(got), static_cast<size_t>(got_len)),
              std::string(reinterpret_cast<char*>(want), static_cast<size_t>(want_len)))
        << what;
    OPENSSL_free(want);
    OPENSSL_free(got);
    // Round trip through DER: the certificate reads back with the same key.
    unsigned char* der = nullptr;
    int der_len = i2d_X509(cert->get(), &der);
    const unsigned char* p = der;
    X509Ptr back(d2i_X509(nullptr, &p, der_len));
    OPENSSL_free(der);
    ASSERT_TRUE(back);
    EXPECT_TRUE(public_keys_equal(X509_get0_pubkey(back.get()), key.get())) << what;
    EXPECT_EQ(X509_verify(back.get(), ca.key.get()), 1) << what;
  }
}

TEST(Issuer, BrokenCaProfileRefusedWithoutSigning) {
  CountingSigner signer(keygen("EC", "P-256"));
  auto id = *make_ca_identity("Test CA", 1);
  const std::function<void(Profile&)> breaks[] = {
      [](Profile& p) { p.path_len = 3; },
      [](Profile& p) { p.path_len = -1; },
      [](Profile& p) { p.is_ca = false; },
      [](Profile& p) { p.eku_nids = {NID_server_auth}; },
      [](Profile& p) {
        p.sans = {{SanEntry::Kind::dns, "ca.example"}};
      },
      [](Profile& p) { p.key_usage = KU_DIGITAL_SIGNATURE; },
  };
  for (const auto& b : breaks) {
    Profile p = profile_for(id);
    b(p);
    auto r = create_ca_certificate_with_profile(id, p, signer, 100);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::policy) << r.error().message;
  }
  EXPECT_EQ(signer.sign_calls, 0);
}

TEST(Issuer, KeyMustMatchCaCertificate) {
  TestCa ca = make_ca();
  auto r = Issuer::create(X509Ptr(X509_dup(ca.cert.get())),
                          std::make_unique<CountingSigner>(keygen("EC", "P-256")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::key_backend);
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos);
}

TEST(Issuer, FaultySignatureIsNotReleased) {
  TestCa ca = make_ca();
  auto issuer = Issuer::create(X509Ptr(X509_dup(ca.cert.get())),
                               std::make_unique<FaultySigner>(ca.key.get(), keygen("EC", "P-256")));
  ASSERT_TRUE(issuer);
  EvpPkeyPtr leaf = keygen("EC", "P-256");
  auto r = issuer->issue(make_fabric_admin_identity(), leaf.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::crypto);
  EXPECT_NE(r.error().message.find("does not verify"), std::string::npos);
}

TEST(Issuer, LeafNeverOutlivesCa) {
  TestCa ca = make_ca(10);
  CountingSigner* counter = nullptr;
  Issuer issuer = make_issuer(ca, &counter);
  EvpPkeyPtr leaf = keygen("EC", "P-256");
  auto r = issuer.issue(make_fabric_admin_identity(), leaf.get());  // default 365 days
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_NE(r.error().message.find(rfc3339(X509_get0_notAfter(ca.cert.get()))), std::string::npos)
      << r.error().message;
  EXPECT_EQ(counter->sign_calls, 0);
  EXPECT_TRUE(issuer.issue(make_fabric_admin_identity(), leaf.get(), 9));
}

TEST(Issuer, NotACaCertificate) {
  TestCa ca = make_ca();
  Issuer issuer = make_issuer(ca);
  EvpPkeyPtr leaf = keygen("EC", "P-256");
  auto cert = issuer.issue(make_fabric_admin_identity(), leaf.get());
  ASSERT_TRUE(cert);
  auto r = Issuer::create(std::move(*cert), std::make_unique<CountingSigner>(std::move(leaf)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a CA certificate"), std::string::npos);
}

TEST(Issuer, DaysRange) {
  EXPECT_FALSE(check_days(0));
  EXPECT_FALSE(check_days(-5));
  EXPECT_FALSE(check_days(kMaxDays + 1));
  EXPECT_TRUE(check_days(1));
}

std::string make_csr(EVP_PKEY* key, bool tamper = false) {
  X509ReqPtr req(X509_REQ_new());
  X509NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("requested"), -1, -1, 0);
  X509_REQ_set_subject_name(req.get(), name.get());
  X509_REQ_set_pubkey(req.get(), key);
  EXPECT_GT(X509_REQ_sign(req.get(), key, EVP_sha256()), 0);
  if (tamper) {
    X509NamePtr other(X509_NAME_new());
    X509_NAME_add_entry_by_txt(other.get(), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("tampered"), -1, -1, 0);
    X509_REQ_set_subject_name(req.get(), other.get());
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return bio_to_string(bio.get());
}

TEST(CsrPolicy, KeyTypesAndSignature) {
  const struct {
    const char* type;
    const char* param;
    bool accepted;
  } cases[] = {
      {"EC", "P-256", true},      {"EC", "P-384", true},  {"RSA", "2048", true},
      {"RSA", "1024", false},     {"EC", "P-521", false}, {"EC", "prime192v1", false},
      {"EC", "secp256k1", false},
  };
  for (const auto& c : cases) {
    EvpPkeyPtr key = keygen(c.type, c.param);
    ASSERT_TRUE(key) << c.type << c.param;
    auto r = csr_public_key(make_csr(key.get()));
    EXPECT_EQ(r.has_value(), c.accepted) << c.type << " " << c.param;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_input);
      EXPECT_NE(r.error().message.find("EC P-256, EC P-384 or RSA 2048-4096"), std::string::npos);
    } else {
      EXPECT_TRUE(public_keys_equal(r->get(), key.get()));
    }
  }
  EvpPkeyPtr key = keygen("EC", "P-256");
  auto bad = csr_public_key(make_csr(key.get(), /*tamper=*/true));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("signature does not verify"), std::string::npos);
  auto garbage = csr_public_key(
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
      "REQUEST-----\n");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Errc::invalid_input);
}

TEST(CsrPolicy, RequestedExtensionsAreIgnored) {
  TestCa ca = make_ca();
  Issuer issuer = make_issuer(ca);
  EvpPkeyPtr key = keygen("EC", "P-256");
  // A CSR asking for CA:TRUE and a foreign SAN: the profile decides.
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), key.get());
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(
      exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE"));
  sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                                   "URI:urn:fabricbios:fabric-admin"));
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req.get(), key.get(), EVP_sha256());
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  auto pub = csr_public_key(bio_to_string(bio.get()));
  ASSERT_TRUE(pub);
  auto cert = issuer.issue(*make_tenant_identity("acme"), pub->get());
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_ca(cert->get()), 0);
  EXPECT_EQ(san_strings(cert->get()), std::vector<std::string>{"URI:urn:fabricbios:tenant:acme"});
}

}  // namespace

// The TSA certificate is what OpenSSL's time-stamping purpose demands (TS_RESP_CTX and
// `openssl ts -verify` check exactly this): EKU timeStamping alone and critical.
TEST(Issuer, TimestampAuthorityEkuIsCritical) {
  TestCa ca = make_ca();
  Issuer issuer = make_issuer(ca);
  EvpPkeyPtr leaf = keygen("EC", "P-256");
  auto cert = issuer.issue(*make_timestamp_authority_identity("tsa-1"), leaf.get());
  ASSERT_TRUE(cert) << cert.error().message;
  X509* x = cert->get();
  int idx = X509_get_ext_by_NID(x, NID_ext_key_usage, -1);
  ASSERT_GE(idx, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), 1);
  EXPECT_EQ(X509_check_purpose(x, X509_PURPOSE_TIMESTAMP_SIGN, 0), 1);
  auto admin = issuer.issue(make_fabric_admin_identity(), leaf.get());
  ASSERT_TRUE(admin);
  EXPECT_NE(X509_check_purpose(admin->get(), X509_PURPOSE_TIMESTAMP_SIGN, 0), 1);
}
