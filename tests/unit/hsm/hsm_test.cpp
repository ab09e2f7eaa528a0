// Unit tests of the hsm core: RFC 7512 URI parsing, key-reference classification and redaction,
// signature verification (DER and raw r||s).
#include <gtest/gtest.h>
#include <openssl/ec.h>

#include <optional>
#include <string>

#include "hsm/file/file_key_manager.hpp"
#include "hsm/key_manager.hpp"
#include "hsm/uri.hpp"
#include "tests/support/fixtures.hpp"

using namespace grafos;
using namespace grafos::hsm;

namespace {

struct UriCase {
  const char* uri;
  std::optional<std::string> token, object, serial, pin_file, module;
  std::optional<std::string> id_hex;
  std::optional<unsigned long> slot_id;
};

class UriParseTest : public ::testing::TestWithParam<UriCase> {};

TEST_P(UriParseTest, Parses) {
  const auto& c = GetParam();
  auto u = parse_pkcs11_uri(c.uri);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->token, c.token);
  EXPECT_EQ(u->object, c.object);
  EXPECT_EQ(u->serial, c.serial);
  EXPECT_EQ(u->pin_file, c.pin_file);
  EXPECT_EQ(u->module_path, c.module.value_or(""));
  EXPECT_EQ(u->slot_id, c.slot_id);
  if (c.id_hex) {
    ASSERT_TRUE(u->id);
    EXPECT_EQ(to_hex(*u->id), *c.id_hex);
  } else {
    EXPECT_FALSE(u->id);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rfc7512, UriParseTest,
    ::testing::Values(
        UriCase{"pkcs11:", {}, {}, {}, {}, {}, {}, {}},
        UriCase{"pkcs11:token=fabric-ca;object=ca-key", "fabric-ca", "ca-key", {}, {}, {}, {}, {}},
        UriCase{"PKCS11:token=a", "a", {}, {}, {}, {}, {}, {}},
        UriCase{"pkcs11:token=My%20Token;object=k%3Bey", "My Token", "k;ey", {}, {}, {}, {}, {}},
        UriCase{"pkcs11:id=%01%02%ff", {}, {}, {}, {}, {}, "0102ff", {}},
        UriCase{"pkcs11:serial=7eb420f680e420b0;slot-id=3",
                {},
                {},
                "7eb420f680e420b0",
                {},
                {},
                {},
                3ul},
        UriCase{"pkcs11:object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/"
                "run/ca.pin",
                {},
                "k",
                {},
                "/run/ca.pin",
                "/usr/lib/softhsm/libsofthsm2.so",
                {},
                {}},
        UriCase{"pkcs11:object=k?pin-source=file:///run/ca.pin",
                {},
                "k",
                {},
                "/run/ca.pin",
                {},
                {},
                {}},
        UriCase{"pkcs11:object=k;x-vendor=1?x-other=2", {}, "k", {}, {}, {}, {}, {}}));

struct BadUri {
  const char* uri;
  const char* rule;  // a fragment the error must contain
};

class UriRefuseTest : public ::testing::TestWithParam<BadUri> {};

TEST_P(UriRefuseTest, RefusesWithTheRule) {
  auto u = parse_pkcs11_uri(GetParam().uri);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, Errc::invalid_input);
  EXPECT_NE(u.error().message.find(GetParam().rule), std::string::npos) << u.error().message;
  EXPECT_EQ(u.error().message.find("s3cret"), std::string::npos) << "the PIN leaked";
}

INSTANTIATE_TEST_SUITE_P(
    Rfc7512, UriRefuseTest,
    ::testing::Values(BadUri{"file:/x", "must start with 'pkcs11:'"},
                      BadUri{"pkcs11:token=a;token=b", "appears more than once"},
                      BadUri{"pkcs11:colour=red", "unknown path attribute 'colour'"},
                      BadUri{"pkcs11:token", "has no '='"},
                      BadUri{"pkcs11:token=a;;object=b", "empty path attribute"},
                      BadUri{"pkcs11:token=a%zz", "two hex digits"},
                      BadUri{"pkcs11:token=a%4", "two hex digits"},
                      BadUri{"pkcs11:token=a b", "percent-encoded"},
                      BadUri{"pkcs11:slot-id=x1", "slot-id= must be a decimal number"},
                      BadUri{"pkcs11:id=", "id= must not be empty"},
                      BadUri{"pkcs11:type=banana", "type= must be one of"},
                      BadUri{"pkcs11:?pin-source=|/bin/cat", "pin-source= must be a file: URI"},
                      BadUri{"pkcs11:?pin-source=env:PIN", "pin-source= must be a file: URI"},
                      BadUri{"pkcs11:?pin-source=file://otherhost/pin", "local path"},
                      BadUri{"pkcs11:?pin-source=file:/a&pin-value=s3cret", "must not both"},
                      BadUri{"pkcs11:?pin-value=s3cret%zz", "pin-value= has a malformed"},
                      BadUri{"pkcs11:?module-path=relative.so", "absolute path"},
                      BadUri{"pkcs11:?foo=1", "unknown query attribute 'foo'"},
                      BadUri{"pkcs11:token=a#frag", "fragment"},
                      BadUri{"pkcs11:?pin-value=s3cret&pin-value=s3cret", "more than once"}));

TEST(UriParse, PinValueIsKeptAsASecret) {
  auto u = parse_pkcs11_uri("pkcs11:object=k?pin-value=12%2034");
  ASSERT_TRUE(u);
  ASSERT_TRUE(u->pin_value);
  EXPECT_EQ(u->pin_value->view(), "12 34");
}

TEST(PercentDecode, DecodesAndRefuses) {
  EXPECT_EQ(*percent_decode("a%2Fb%2f"), "a/b/");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%g0"));
}

struct RedactCase {
  const char* in;
  const char* out;
};
class RedactTest : public ::testing::TestWithParam<RedactCase> {};
TEST_P(RedactTest, DropsPinValue) { EXPECT_EQ(redact_key_ref(GetParam().in), GetParam().out); }
INSTANTIATE_TEST_SUITE_P(
    Refs, RedactTest,
    ::testing::Values(RedactCase{"ca/ca-key.pem", "ca/ca-key.pem"},
                      RedactCase{"pkcs11:token=a?pin-value=1234", "pkcs11:token=a"},
                      RedactCase{"pkcs11:token=a?module-path=/m.so&pin-value=1234",
                                 "pkcs11:token=a?module-path=/m.so"},
                      RedactCase{"pkcs11:token=a?pin-value=1234&module-path=/m.so",
                                 "pkcs11:token=a?module-path=/m.so"},
                      RedactCase{"pkcs11:token=a?pin-source=file:/p",
                                 "pkcs11:token=a?pin-source=file:/p"}));

TEST(Classify, ByReferenceForm) {
  grafos::test::TempDir d;
  EXPECT_EQ(classify_key_ref("pkcs11:token=a"), Backend::pkcs11);
  EXPECT_EQ(classify_key_ref("handle:0x81000010"), Backend::tpm);
  EXPECT_EQ(classify_key_ref((d.path() / "new.pem").string()), Backend::file);
  EXPECT_EQ(classify_key_ref((d.path() / "new.tss2.pem").string()), Backend::tpm);
  auto tss = d.path() / "k.pem";
  grafos::test::write_private_file(tss, "-----BEGIN TSS2 PRIVATE KEY-----\nAA==\n");
  EXPECT_EQ(classify_key_ref(tss.string()), Backend::tpm);
  auto plain = d.path() / "p.tss2.pem";  // exists and is not TSS2: file
  grafos::test::write_private_file(plain, "-----BEGIN PRIVATE KEY-----\n");
  EXPECT_EQ(classify_key_ref(plain.string()), Backend::file);
  EXPECT_EQ(backend_name(Backend::tpm), "tpm");
}

// DER signatures and raw r||s both verify; a wrong message or a truncated signature does not.
TEST(VerifySignature, DerAndRawForms) {
  auto key = generate_p256_key();
  ASSERT_TRUE(key);
  EvpSigner signer(EvpPkeyPtr(EVP_PKEY_dup(key->get())), "test");
  Bytes msg = {'m', 's', 'g'};
  auto der = signer.sign(msg);
  ASSERT_TRUE(der);
  EXPECT_TRUE(verify_signature(signer.public_key(), msg, *der));

  const unsigned char* p = der->data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(sig, nullptr);
  Bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  EXPECT_TRUE(verify_signature(signer.public_key(), msg, raw));

  Bytes other = {'m', 's', 'h'};
  EXPECT_FALSE(verify_signature(signer.public_key(), other, *der));
  EXPECT_FALSE(verify_signature(signer.public_key(), other, raw));
  raw[10] ^= 1;
  EXPECT_FALSE(verify_signature(signer.public_key(), msg, raw));
  Bytes truncated(der->begin(), der->end() - 1);
  EXPECT_FALSE(verify_signature(signer.public_key(), msg, truncated));
  auto empty = verify_signature(signer.public_key(), msg, Bytes{});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::crypto);
}

}  // namespace
