// The RFC 3161 TSA core (registry/tsa.hpp) and its serial counter in the store: real OpenSSL TS
// queries and replies, a real SQLite database, certificates made with OpenSSL's X509 API.
#include "registry/tsa.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ts.h>

#include <atomic>
#include <set>
#include <thread>

#include "registry/store.hpp"
#include "tests/unit/provenance/test_pki.hpp"

namespace grafos::registry {
namespace {

using grafos::testing::KeyCert;
using grafos::testing::LeafSpec;
using grafos::testing::TempDir;

template <class T, auto Free>
using Owned = std::unique_ptr<T, OsslDeleter<Free>>;

std::string key_pem(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b.get(), &p);
  return std::string(p, static_cast<size_t>(n));
}

LeafSpec tsa_spec() {
  LeafSpec s;
  s.cn = "timestamp-authority tsa-1";
  s.san = "URI:urn:fabricbios:timestamp-authority:tsa-1";
  s.eku = "critical,timeStamping";
  return s;
}

// A DER TimeStampReq over `data` with digest `md`, optional nonce and certReq.
std::string make_query(const EVP_MD* md, bool cert_req, long nonce = 0,
                       const std::string& data = "bundle signature") {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr);
  Owned<TS_REQ, TS_REQ_free> req(TS_REQ_new());
  Owned<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free> mi(TS_MSG_IMPRINT_new());
  Owned<X509_ALGOR, X509_ALGOR_free> algo(X509_ALGOR_new());
  X509_ALGOR_set0(algo.get(), OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, nullptr);
  TS_MSG_IMPRINT_set_algo(mi.get(), algo.get());
  TS_MSG_IMPRINT_set_msg(mi.get(), digest, static_cast<int>(len));
  TS_REQ_set_version(req.get(), 1);
  TS_REQ_set_msg_imprint(req.get(), mi.get());
  if (nonce) {
    Asn1IntegerPtr n(ASN1_INTEGER_new());
    ASN1_INTEGER_set(n.get(), nonce);
    TS_REQ_set_nonce(req.get(), n.get());
  }
  TS_REQ_set_cert_req(req.get(), cert_req ? 1 : 0);
  unsigned char* der = nullptr;
  int n = i2d_TS_REQ(req.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Owned<TS_RESP, TS_RESP_free> parse(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return Owned<TS_RESP, TS_RESP_free>(d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size())));
}

class TsaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = grafos::testing::make_ca();
    tsa_ = grafos::testing::make_leaf(ca_, tsa_spec());
    grafos::testing::write(dir_ / "ca.pem", grafos::testing::pem(ca_));
    grafos::testing::write(dir_ / "tsa.pem", grafos::testing::pem(tsa_));
    grafos::testing::write(dir_ / "tsa-key.pem", key_pem(tsa_.key.get()));
  }
  std::unique_ptr<Tsa> open_tsa() {
    auto t = Tsa::open({dir_ / "tsa.pem", dir_ / "tsa-key.pem", {}});
    EXPECT_TRUE(t) << t.error().message;
    if (!t) return nullptr;
    (*t)->use_serials([this](std::uint64_t n) -> Result<std::uint64_t> {
      ++reservations_;
      std::uint64_t first = next_;
      next_ += n;
      return first;
    });
    return std::move(*t);
  }
  TempDir dir_;
  KeyCert ca_, tsa_;
  std::atomic<int> reservations_{0};
  std::uint64_t next_ = 1;
};

TEST_F(TsaTest, GrantsSha256WithNoncePolicyAccuracyAndCertificate) {
  auto tsa = open_tsa();
  ASSERT_TRUE(tsa);
  auto r = tsa->respond(make_query(EVP_sha256(), true, 0x1234567));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->granted);
  EXPECT_EQ(r->summary, "granted serial 1");
  auto resp = parse(r->der);
  ASSERT_TRUE(resp);
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(TS_TST_INFO_get_nonce(info)), 0x1234567);
  char oid[128] = {};
  OBJ_obj2txt(oid, sizeof oid, TS_TST_INFO_get_policy_id(info), 1);
  EXPECT_EQ(std::string(oid), kTsaPolicyOid);
  TS_ACCURACY* acc = TS_TST_INFO_get_accuracy(info);
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(TS_ACCURACY_get_seconds(acc)), kTsaAccuracySeconds);
  EXPECT_EQ(ASN1_INTEGER_get(TS_TST_INFO_get_serial(info)), 1);
  // genTime: the system clock.
  struct tm tm {};
  ASSERT_EQ(ASN1_TIME_to_tm(TS_TST_INFO_get_time(info), &tm), 1);
  EXPECT_LT(std::llabs(static_cast<long long>(timegm(&tm) - std::time(nullptr))), 5);
  // certReq: the TSA certificate is in the token.
  PKCS7* token = TS_RESP_get_token(resp.get());
  ASSERT_NE(token, nullptr);
  STACK_OF(X509)* certs = token->d.sign->cert;
  ASSERT_EQ(sk_X509_num(certs), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(certs, 0), tsa_.cert.get()), 0);

  // The reply verifies against the query and the CA (what a client does).
  const auto q = make_query(EVP_sha256(), true, 0x1234567);
  const auto* p = reinterpret_cast<const unsigned char*>(q.data());
  Owned<TS_REQ, TS_REQ_free> req(d2i_TS_REQ(nullptr, &p, static_cast<long>(q.size())));
  Owned<TS_VERIFY_CTX, TS_VERIFY_CTX_free> vctx(TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr));
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_.cert.get());
  TS_VERIFY_CTX_set_store(vctx.get(), store);
  TS_VERIFY_CTX_add_flags(vctx.get(), TS_VFY_SIGNATURE);
  EXPECT_EQ(TS_RESP_verify_response(vctx.get(), resp.get()), 1) << drain_ossl_errors();
}

TEST_F(TsaTest, NoCertificateWithoutCertReq) {
  auto tsa = open_tsa();
  ASSERT_TRUE(tsa);
  auto r = tsa->respond(make_query(EVP_sha256(), false));
  ASSERT_TRUE(r && r->granted);
  auto resp = parse(r->der);
  EXPECT_LE(sk_X509_num(TS_RESP_get_token(resp.get())->d.sign->cert), 0);  // none: NULL
  EXPECT_EQ(TS_TST_INFO_get_nonce(TS_RESP_get_tst_info(resp.get())), nullptr);
}

TEST_F(TsaTest, OtherDigestsAreRejectedInsideAReply) {
  auto tsa = open_tsa();
  ASSERT_TRUE(tsa);
  for (const EVP_MD* md : {EVP_sha1(), EVP_sha384(), EVP_sha512()}) {
    auto r = tsa->respond(make_query(md, true));
    ASSERT_TRUE(r) << EVP_MD_get0_name(md) << ": " << r.error().message;
    EXPECT_FALSE(r->granted);
    EXPECT_EQ(r->summary, "rejection: badAlg") << EVP_MD_get0_name(md);
    auto resp = parse(r->der);
    ASSERT_TRUE(resp);
    EXPECT_EQ(ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get()))),
              TS_STATUS_REJECTION);
    EXPECT_EQ(TS_RESP_get_token(resp.get()), nullptr);
  }
  EXPECT_EQ(reservations_, 0) << "a rejection uses no serial";
}

TEST_F(TsaTest, MalformedQueriesAreBadRequests) {
  auto tsa = open_tsa();
  ASSERT_TRUE(tsa);
  const std::string good = make_query(EVP_sha256(), true);
  const struct {
    const char* what;
    std::string body;
    const char* msg;
  } cases[] = {
      {"empty", "", "empty timestamp query"},
      {"garbage", "hello, not DER", "not a DER-encoded RFC 3161 TimeStampReq"},
      {"truncated", good.substr(0, good.size() - 3), "not a DER-encoded"},
      {"trailing bytes", good + "x", "trailing bytes"},
      {"two queries", good + good, "trailing bytes"},
      {"too large", std::string(kMaxTimestampQuery + 1, '\x30'), "larger than"},
      {"a certificate", grafos::testing::pem(tsa_), "not a DER-encoded"},
  };
  for (const auto& c : cases) {
    auto r = tsa->respond(c.body);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, Errc::bad_request) << c.what;
    EXPECT_NE(r.error().message.find(c.msg), std::string::npos)
        << c.what << ": " << r.error().message;
  }
}

TEST_F(TsaTest, SerialsComeInBlocksAndNeverRepeatAcrossThreads) {
  auto tsa = open_tsa();
  ASSERT_TRUE(tsa);
  const std::string q = make_query(EVP_sha256(), false);
  std::mutex mu;
  std::set<long> serials;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        auto r = tsa->respond(q);
        if (!r || !r->granted) {
          ++failures;
          continue;
        }
        auto resp = parse(r->der);
        long s = ASN1_INTEGER_get(TS_TST_INFO_get_serial(TS_RESP_get_tst_info(resp.get())));
        std::lock_guard lk(mu);
        serials.insert(s);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(serials.size(), 1200u);
  EXPECT_EQ(*serials.begin(), 1);
  EXPECT_EQ(reservations_, 2) << "1200 serials are two blocks of " << kSerialBlock;
}

TEST_F(TsaTest, NoSerialNoToken) {
  auto t = Tsa::open({dir_ / "tsa.pem", dir_ / "tsa-key.pem", {}});
  ASSERT_TRUE(t);
  (*t)->use_serials([](std::uint64_t) -> Result<std::uint64_t> {
    return make_error(Errc::storage, "database is locked");
  });
  auto r = (*t)->respond(make_query(EVP_sha256(), true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::storage);
  EXPECT_NE(r.error().message.find("database is locked"), std::string::npos);
}

TEST_F(TsaTest, OpenRefusesCertificatesThatAreNotTsaCertificates) {
  const struct {
    const char* what;
    std::string eku;
  } cases[] = {
      {"clientAuth", "clientAuth"},
      {"codeSigning", "codeSigning"},
      {"timeStamping, not critical", "timeStamping"},
      {"timeStamping and codeSigning", "critical,timeStamping,codeSigning"},
  };
  for (const auto& c : cases) {
    LeafSpec s = tsa_spec();
    s.eku = c.eku;
    KeyCert leaf = grafos::testing::make_leaf(ca_, s);
    grafos::testing::write(dir_ / "bad.pem", grafos::testing::pem(leaf));
    grafos::testing::write(dir_ / "bad-key.pem", key_pem(leaf.key.get()));
    auto t = Tsa::open({dir_ / "bad.pem", dir_ / "bad-key.pem", {}});
    ASSERT_FALSE(t) << c.what;
    EXPECT_EQ(t.error().code, Errc::invalid_input) << c.what;
    EXPECT_NE(t.error().message.find("not a time-stamping certificate"), std::string::npos)
        << t.error().message;
  }
  // The key of another certificate.
  KeyCert other = grafos::testing::make_leaf(ca_, tsa_spec());
  grafos::testing::write(dir_ / "other-key.pem", key_pem(other.key.get()));
  auto mismatch = Tsa::open({dir_ / "tsa.pem", dir_ / "other-key.pem", {}});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, Errc::key_backend) << mismatch.error().message;
  // An expired TSA certificate.
  LeafSpec old = tsa_spec();
  old.not_before_days = -10;
  old.not_after_days = -1;
  KeyCert expired = grafos::testing::make_leaf(ca_, old);
  grafos::testing::write(dir_ / "old.pem", grafos::testing::pem(expired));
  grafos::testing::write(dir_ / "old-key.pem", key_pem(expired.key.get()));
  auto e = Tsa::open({dir_ / "old.pem", dir_ / "old-key.pem", {}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("not valid now"), std::string::npos) << e.error().message;
  auto missing = Tsa::open({dir_ / "nope.pem", dir_ / "tsa-key.pem", {}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::file_missing);
}

TEST(TsaSerials, StoreReservesDisjointBlocksThatSurviveReopening) {
  TempDir dir;
  const std::string db = dir / "registry.db";
  std::uint64_t a = 0, b = 0, c = 0;
  {
    auto s = Store::open(db, true);
    ASSERT_TRUE(s) << s.error().message;
    auto r1 = (*s)->reserve_tsa_serials(kSerialBlock);
    auto r2 = (*s)->reserve_tsa_serials(kSerialBlock);
    ASSERT_TRUE(r1 && r2);
    a = *r1;
    b = *r2;
  }
  {
    auto s = Store::open(db, false);
    ASSERT_TRUE(s) << s.error().message;
    auto r3 = (*s)->reserve_tsa_serials(10);
    ASSERT_TRUE(r3);
    c = *r3;
  }
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, a + kSerialBlock);
  EXPECT_EQ(c, b + kSerialBlock);
}

}  // namespace
}  // namespace grafos::registry
