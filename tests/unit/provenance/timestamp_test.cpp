// provenance/timestamp.hpp and provenance/trusted_root.hpp over the vectors of
// tests/data/provenance (generate_timestamps.py: tokens from `openssl ts -reply`): the imprint
// rule, attaching a reply or a bare token, every refusal of attach, the token check, the TSA
// profile and the trusted root's shape and refusals.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "provenance/timestamp.hpp"
#include "provenance/trusted_root.hpp"
#include "util/base64.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace {

using namespace grafos;
using namespace grafos::provenance;
using nlohmann::json;

std::string vec(const std::string& rel) {
  const char* root = std::getenv("GRAFOS_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/tests/data/provenance/" + rel;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json bundle_of(const std::string& vector) {
  auto doc = parse_json_strict(slurp(vec(vector + "/input.json")));
  EXPECT_TRUE(doc) << vector;
  return doc ? *doc : json();
}

std::string decoded(const std::string& b64) {
  auto d = base64_decode(b64);
  EXPECT_TRUE(d);
  return d ? std::string(d->begin(), d->end()) : "";
}

std::string first_stamp(const json& bundle) {
  return decoded(bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
                       ["signedTimestamp"]
                           .get<std::string>());
}

json without_stamps(json bundle) {
  bundle["verificationMaterial"].erase("timestampVerificationData");
  return bundle;
}

X509Ptr cert_of(const std::string& pem) {
  auto c = x509_from_pem(pem);
  EXPECT_TRUE(c);
  return c ? std::move(*c) : X509Ptr();
}

TEST(Timestamp, ImprintIsSha256OfTheSignatureBytes) {
  json b = bundle_of("ts_good_pass");
  std::string sig = decoded(b["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
  unsigned char md[32];
  unsigned int n = 0;
  ASSERT_EQ(EVP_Digest(sig.data(), sig.size(), md, &n, EVP_sha256(), nullptr), 1);
  auto imprint = timestamp_imprint(b);
  ASSERT_TRUE(imprint) << imprint.error().message;
  EXPECT_EQ(*imprint, std::string(reinterpret_cast<char*>(md), n));
  auto from_text = timestamp_imprint(slurp(vec("ts_good_pass/input.json")));
  ASSERT_TRUE(from_text);
  EXPECT_EQ(*from_text, *imprint);
}

TEST(Timestamp, ImprintRefusals) {
  json b = bundle_of("ts_good_pass");
  json two = b;
  two["dsseEnvelope"]["signatures"].push_back(two["dsseEnvelope"]["signatures"][0]);
  json none = b;
  none.erase("dsseEnvelope");
  json empty = b;
  empty["dsseEnvelope"]["signatures"][0]["sig"] = "";
  for (const json* j : {&two, &none, &empty}) {
    auto r = timestamp_imprint(*j);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_input);
  }
}

TEST(Timestamp, AttachStoresTheReplyAndRefusesItTwice) {
  json stamped = bundle_of("ts_good_pass");
  std::string reply = first_stamp(stamped);
  json b = without_stamps(stamped);
  ASSERT_TRUE(attach_timestamp(b, reply));
  EXPECT_EQ(b, stamped);
  auto again = attach_timestamp(b, reply);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::invalid_input);
  EXPECT_NE(again.error().message.find("already holds"), std::string::npos);
  EXPECT_EQ(b, stamped);  // unchanged by the refusal
  // Over the text, the result is the canonical bundle and verifies the same.
  auto text = attach_timestamp(to_string(without_stamps(stamped)), reply);
  ASSERT_TRUE(text) << text.error().message;
  auto back = parse_json_strict(*text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, stamped);
}

TEST(Timestamp, AttachWrapsABareTokenAsAGrantedReply) {
  json stamped = bundle_of("ts_bare_token_pass");
  std::string token = first_stamp(stamped);
  json b = without_stamps(stamped);
  ASSERT_TRUE(attach_timestamp(b, token));
  std::string stored = first_stamp(b);
  EXPECT_NE(stored, token);
  auto inner = token_from_response(stored);
  ASSERT_TRUE(inner) << inner.error().message;
  EXPECT_EQ(*inner, token);
  TimestampCheckOptions o;
  o.anchors_pem = slurp(vec("ts/ca.pem"));
  auto infos = check_bundle_timestamps(b, o);
  ASSERT_TRUE(infos) << infos.error().message;
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ(infos->at(0).tsa_subject, "CN=timestamp-authority vectors-tsa");
  EXPECT_EQ(infos->at(0).policy, "1.3.6.1.4.1.99999.1.15");
}

TEST(Timestamp, AttachRefusals) {
  json good = without_stamps(bundle_of("ts_good_pass"));
  struct Case {
    const char* name;
    std::string der;
    const char* reason;
  } cases[] = {
      {"other bytes", first_stamp(bundle_of("ts_other_bytes_fail")), "over other bytes"},
      {"rejected reply", first_stamp(bundle_of("ts_rejected_reply_fail")), "refused the request"},
      {"not DER", "not a timestamp", "neither"},
      {"empty", "", "neither"},
  };
  for (auto& c : cases) {
    json b = good;
    auto r = attach_timestamp(b, c.der);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
    EXPECT_EQ(b, good) << c.name << ": the bundle changed";
  }
}

TEST(Timestamp, CheckedTokenSaysWhenAndWho) {
  json b = bundle_of("ts_expired_signer_pass");
  TimestampCheckOptions o;
  o.anchors_pem = slurp(vec("ts/ca.pem"));
  auto infos = check_bundle_timestamps(b, o);
  ASSERT_TRUE(infos) << infos.error().message;
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ(timestamp_text(infos->at(0).gen_time), "2020-06-01T12:00:00Z");
  EXPECT_FALSE(infos->at(0).serial.empty());
  // No timestamp: an empty list, not an error.
  auto none = check_bundle_timestamps(without_stamps(b), o);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(Timestamp, TokenRefusals) {
  TimestampCheckOptions fabric;
  fabric.anchors_pem = slurp(vec("ts/ca.pem"));
  fabric.anchors_name = "the vectors CA";
  struct Case {
    const char* vector;
    Errc code;
    const char* reason;
  } cases[] = {
      {"ts_untrusted_tsa_fail", Errc::mismatch, "is not trusted"},
      {"ts_not_a_tsa_fail", Errc::mismatch, "not a time-stamping authority"},
      {"ts_other_bytes_fail", Errc::mismatch, "over other bytes"},
      {"ts_duplicated_token_fail", Errc::mismatch, "duplicates"},
      {"ts_not_a_token_fail", Errc::invalid_input, "not one DER"},
      {"ts_unknown_field_fail", Errc::invalid_input, "unexpected field"},
  };
  for (auto& c : cases) {
    auto r = check_bundle_timestamps(bundle_of(c.vector), fabric);
    ASSERT_FALSE(r) << c.vector;
    EXPECT_EQ(r.error().code, c.code) << c.vector << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.vector << ": " << r.error().message;
  }
  TimestampCheckOptions leaf_only;
  leaf_only.anchors_pem = slurp(vec("ts/tsa.pem"));
  auto r = check_bundle_timestamps(bundle_of("ts_good_pass"), leaf_only);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no CA certificate"), std::string::npos);
}

TEST(Timestamp, TsaProfile) {
  auto tsa = cert_of(slurp(vec("ts/tsa.pem")));
  EXPECT_TRUE(check_tsa_profile(tsa.get()));
  json b = bundle_of("ts_good_pass");
  std::string der =
      decoded(b["verificationMaterial"]["certificate"]["rawBytes"].get<std::string>());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr signer(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(signer);
  auto r = check_tsa_profile(signer.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::mismatch);
  EXPECT_NE(r.error().message.find("not a time-stamping authority"), std::string::npos);
}

TEST(Timestamp, SignedWithinValidityAndRevocation) {
  json old = bundle_of("ts_outside_validity_fail");
  std::string der =
      decoded(old["verificationMaterial"]["certificate"]["rawBytes"].get<std::string>());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr signer(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(signer);
  TimestampInfo in2020;
  in2020.gen_time = 1590969600;  // 2020-06-01
  TimestampInfo in2022;
  in2022.gen_time = 1654041600;  // 2022-06-01
  EXPECT_TRUE(check_signed_within_validity(signer.get(), in2020));
  auto r = check_signed_within_validity(signer.get(), in2022);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("outside the signer certificate's validity"), std::string::npos);
  // Not on the CRL: passes; a CRL from another CA: refused.
  std::string ca = slurp(vec("ts/ca.pem"));
  std::string crl = slurp(vec("ts/crl.pem"));
  EXPECT_TRUE(check_not_revoked_before(signer.get(), ca, crl, in2020, "the CA"));
  auto other =
      check_not_revoked_before(signer.get(), slurp(vec("pki/ca.pem")), crl, in2020, "the other CA");
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("not signed by the other CA"), std::string::npos);
}

TEST(TrustedRoot, Shape) {
  std::string ca = slurp(vec("ts/ca.pem"));
  auto text = make_trusted_root(ca, slurp(vec("ts/tsa.pem")));
  ASSERT_TRUE(text) << text.error().message;
  auto root = parse_json_strict(*text);
  ASSERT_TRUE(root);
  EXPECT_EQ((*root)["mediaType"], "application/vnd.dev.sigstore.trustedroot.v0.1+json");
  EXPECT_EQ((*root)["tlogs"], json::array());
  EXPECT_EQ((*root)["ctlogs"], json::array());
  ASSERT_EQ((*root)["certificateAuthorities"].size(), 1u);
  const json& cauth = (*root)["certificateAuthorities"][0];
  EXPECT_EQ(cauth["subject"]["commonName"], "Vectors Timestamp Fabric CA");
  EXPECT_EQ(cauth["validFor"]["start"], "2019-01-01T00:00:00Z");
  ASSERT_EQ((*root)["timestampAuthorities"].size(), 1u);
  const json& tsa = (*root)["timestampAuthorities"][0];
  EXPECT_EQ(tsa["certChain"]["certificates"].size(), 2u);
  EXPECT_EQ(tsa["certChain"]["certificates"][1], cauth["certChain"]["certificates"][0]);
  EXPECT_EQ(tsa["subject"]["commonName"], "timestamp-authority vectors-tsa");
  auto no_tsa = make_trusted_root(ca, std::nullopt);
  ASSERT_TRUE(no_tsa);
  EXPECT_EQ((*parse_json_strict(*no_tsa))["timestampAuthorities"], json::array());
}

TEST(TrustedRoot, Refusals) {
  std::string ca = slurp(vec("ts/ca.pem"));
  struct Case {
    const char* name;
    std::string ca, tsa;
    const char* reason;
  } cases[] = {
      {"TSA from another CA without its chain", ca,
       slurp(vec("ts/outside-tsa.pem"))
           .substr(0, slurp(vec("ts/outside-tsa.pem")).find("-----END CERTIFICATE-----") + 26),
       "chain does not verify"},
      {"a CA as TSA", ca, ca, "CA certificate"},
      {"no certificate", ca, "junk", "holds no PEM certificate"},
      {"leaf as CA", slurp(vec("ts/tsa.pem")), slurp(vec("ts/tsa.pem")), "not a CA certificate"},
  };
  for (auto& c : cases) {
    auto r = make_trusted_root(c.ca, c.tsa);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

}  // namespace
