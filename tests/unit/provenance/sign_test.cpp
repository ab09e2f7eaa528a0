// provenance/sign.hpp: every refusal of a sign request with its code and reason, nothing written,
// an existing output kept without force, no CLI flag in a message, and a PIN in a key URI never in
// an error.
#include <gtest/gtest.h>

#include "provenance/sign.hpp"
#include "tests/unit/provenance/request_fixture.hpp"

namespace {

using namespace grafos;
using namespace grafos::provenance;
using namespace grafos::testing;

TEST_F(Requests, SignRefusalsWriteNothing) {
  std::string record = record_file();
  std::string bundle = bundle_file();
  write(pki("malformed.json"), slurp(record).substr(0, 20));
  write(pki("schema2.json"), "{\"schema_version\": 2}");
  struct Case {
    const char* name;
    std::function<void(SignRequest&)> edit;
    Errc code;
    const char* reason;
  } cases[] = {
      {"missing input", [&](SignRequest& s) { s.input = pki("no-such.json"); }, Errc::file_missing,
       "no-such.json"},
      {"malformed input", [&](SignRequest& s) { s.input = pki("malformed.json"); },
       Errc::invalid_input, "malformed JSON"},
      {"unknown schema", [&](SignRequest& s) { s.input = pki("schema2.json"); },
       Errc::invalid_input, "unknown schema_version"},
      {"a bundle as input", [&](SignRequest& s) { s.input = bundle; }, Errc::invalid_input,
       "already a signed bundle"},
      {"no key", [&](SignRequest& s) { s.sign_key.clear(); }, Errc::usage, "signing needs"},
      {"no certificate", [&](SignRequest& s) { s.sign_cert.clear(); }, Errc::usage,
       "signing needs"},
      {"tenant certificate",
       [&](SignRequest& s) {
         s.sign_key = pki("tenant-key.pem");
         s.sign_cert = pki("tenant.pem");
       },
       Errc::invalid_input, "codeSigning"},
      {"key of another certificate", [&](SignRequest& s) { s.sign_key = pki("tenant-key.pem"); },
       Errc::key_backend, "does not match"},
      {"expired signer",
       [&](SignRequest& s) {
         s.sign_key = pki("expired-key.pem");
         s.sign_cert = pki("expired.pem");
       },
       Errc::invalid_input, "has expired"},
  };
  for (auto& c : cases) {
    auto before = listing(dir_.path());
    SignRequest s;
    s.input = record;
    s.sign_key = pki("signer-key.pem");
    s.sign_cert = pki("signer.pem");
    s.output.path = work_ / "bundle.json";
    c.edit(s);
    auto r = sign_image_provenance(s, {});
    expect_refused(r, c.name, c.code, c.reason);
    EXPECT_EQ(listing(dir_.path()), before) << c.name << ": something was written";
  }
}

TEST_F(Requests, SignNeverReplacesAnOutputWithoutForce) {
  SignRequest s;
  s.input = record_file();
  s.sign_key = pki("signer-key.pem");
  s.sign_cert = pki("signer.pem");
  s.output.path = work_ / "bundle.json";
  write(s.output.path->string(), "keep me\n");
  auto r = sign_image_provenance(s, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::exists);
  expect_no_flag(r.error(), "exists");
  EXPECT_EQ(slurp(s.output.path->string()), "keep me\n");
  // Refused before the key is opened: a key that does not exist is not even looked at.
  s.sign_key = pki("missing-key.pem");
  auto early = sign_image_provenance(s, {});
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::exists) << early.error().message;
  s.sign_key = pki("signer-key.pem");
  s.output.force = true;
  auto w = sign_image_provenance(s, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_TRUE(w->signed_bundle);
  EXPECT_EQ(w->binaries, 1u);
  EXPECT_EQ(slurp(s.output.path->string()), w->text);
}

TEST_F(Requests, SigningKeyReferencesAreRedactedInErrors) {
  // A PIN in the URI must never reach a message, whatever fails.
  auto k = open_signing_material(
      "pkcs11:token=t;object=o?module-path=/nonexistent/module.so&pin-value=135792468",
      pki("signer.pem"), {});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message.find("135792468"), std::string::npos) << k.error().message;
  EXPECT_NE(k.error().message.find("signing key"), std::string::npos) << k.error().message;
  auto good = open_signing_material(pki("signer-key.pem"), pki("signer.pem"), {});
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_TRUE(
      public_keys_equal(good->key.signer->public_key(), X509_get0_pubkey(signer_->cert.get())));
}

}  // namespace
