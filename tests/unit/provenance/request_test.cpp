// The request/response layer of image-provenance (provenance/build.hpp, sign.hpp, verify.hpp):
// what each refuses, with which code and reason, that a refusal writes nothing, and that no
// message names a CLI flag (the tool adds that context).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "provenance/build.hpp"
#include "provenance/sign.hpp"
#include "provenance/verify.hpp"
#include "tests/unit/provenance/test_pki.hpp"

namespace fs = std::filesystem;
using namespace grafos;
using namespace grafos::provenance;
using grafos::testing::KeyCert;
using grafos::testing::LeafSpec;
using grafos::testing::slurp;
using grafos::testing::TempDir;
using grafos::testing::write;

namespace {

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(e.path().string());
  return out;
}

void write_pair(const fs::path& dir, const std::string& name, const KeyCert& kc) {
  write((dir / (name + ".pem")).string(), *x509_to_pem(kc.cert.get()));
  write((dir / (name + "-key.pem")).string(), *private_key_to_pem(kc.key.get()));
}

class Requests : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new KeyCert(grafos::testing::make_ca());
    signer_ = new KeyCert(grafos::testing::make_leaf(*ca_));
    tenant_ = new KeyCert(
        grafos::testing::make_leaf(*ca_, {"acme", "URI:urn:fabricbios:tenant:acme", "clientAuth",
                                          "critical,digitalSignature", -1, 365}));
    LeafSpec expired;
    expired.not_before_days = -10;
    expired.not_after_days = -1;
    expired_ = new KeyCert(grafos::testing::make_leaf(*ca_, expired));
    LeafSpec future;
    future.not_before_days = 2;
    future_ = new KeyCert(grafos::testing::make_leaf(*ca_, future));
  }
  static void TearDownTestSuite() {
    for (auto* kc : {ca_, signer_, tenant_, expired_, future_}) delete kc;
  }

  void SetUp() override {
    pki_ = dir_.path() / "pki";
    work_ = dir_.path() / "work";
    fs::create_directories(pki_);
    fs::create_directories(work_);
    write_pair(pki_, "ca", *ca_);
    write_pair(pki_, "signer", *signer_);
    write_pair(pki_, "tenant", *tenant_);
    write_pair(pki_, "expired", *expired_);
    write_pair(pki_, "future", *future_);
    write((pki_ / "not-pem.pem").string(), "not a certificate\n");
    repo_ = (dir_.path() / "repo").string();
    fs::create_directories(repo_);
    write(repo_ + "/tracked.txt", "v1\n");
    ASSERT_EQ(std::system(("cd '" + repo_ +
                           "' && git init -q . && git -c user.name=t -c user.email=t@e add "
                           "tracked.txt && git -c user.name=t -c user.email=t@e commit -q -m init")
                              .c_str()),
              0);
    bin_ = (dir_.path() / "fabricbiosd").string();
    write(bin_, "fabricbiosd v1\n");
  }

  std::string pki(const std::string& name) const { return (pki_ / name).string(); }

  BuildRequest build_request() const {
    BuildRequest r;
    r.record.image_kind = "aws-ami";
    r.record.image_name = "grafos-cell-1";
    r.record.binaries = {bin_};
    r.record.repo = repo_;
    r.record.source_date_epoch = "1795456800";
    r.output = work_ / "provenance.json";
    return r;
  }

  // A record file made by build, in the pki folder (outside `work_`).
  std::string record_file() {
    auto r = build_request();
    r.output = pki_ / "record.json";
    r.force = true;
    auto w = build_image_provenance(r, {});
    EXPECT_TRUE(w) << w.error().message;
    return r.output->string();
  }

  // A bundle file made by sign, in the pki folder.
  std::string bundle_file() {
    SignRequest s;
    s.input = record_file();
    s.sign_key = pki("signer-key.pem");
    s.sign_cert = pki("signer.pem");
    s.output = pki_ / "bundle.json";
    s.force = true;
    auto w = sign_image_provenance(s, {});
    EXPECT_TRUE(w) << w.error().message;
    return s.output->string();
  }

  static KeyCert* ca_;
  static KeyCert* signer_;
  static KeyCert* tenant_;
  static KeyCert* expired_;
  static KeyCert* future_;
  TempDir dir_;
  fs::path pki_, work_;
  std::string repo_, bin_;
};
KeyCert* Requests::ca_ = nullptr;
KeyCert* Requests::signer_ = nullptr;
KeyCert* Requests::tenant_ = nullptr;
KeyCert* Requests::expired_ = nullptr;
KeyCert* Requests::future_ = nullptr;

// Library messages name what went wrong in their own terms, never a flag.
void expect_no_flag(const Error& e, const std::string& name) {
  EXPECT_EQ(e.message.find("--"), std::string::npos) << name << ": " << e.message;
}

// ---------------------------------------------------------------- build

TEST_F(Requests, BuildRefusalsWriteNothing) {
  struct Case {
    const char* name;
    std::function<void(BuildRequest&)> edit;
    Errc code;
    const char* reason;
  } cases[] = {
      {"no binary", [&](BuildRequest& r) { r.record.binaries.clear(); }, Errc::usage,
       "at least one binary"},
      {"empty binary path", [&](BuildRequest& r) { r.record.binaries = {""}; }, Errc::usage,
       "must not be empty"},
      {"binary twice",
       [&](BuildRequest& r) {
         r.record.binaries = {bin_, (fs::path(bin_).parent_path() / "." / "fabricbiosd")};
       },
       Errc::usage, "given twice"},
      {"empty image kind", [&](BuildRequest& r) { r.record.image_kind.clear(); }, Errc::usage,
       "image kind"},
      {"empty image name", [&](BuildRequest& r) { r.record.image_name.clear(); }, Errc::usage,
       "image name"},
      {"missing binary", [&](BuildRequest& r) { r.record.binaries = {bin_ + "-nope"}; },
       Errc::binary_missing, "fabricbiosd-nope"},
      {"directory as binary", [&](BuildRequest& r) { r.record.binaries = {pki_.string()}; },
       Errc::invalid_input, "directory"},
      {"bad SOURCE_DATE_EPOCH", [&](BuildRequest& r) { r.record.source_date_epoch = "x"; },
       Errc::invalid_input, "SOURCE_DATE_EPOCH"},
      {"not a repository", [&](BuildRequest& r) { r.record.repo = pki_.string(); },
       Errc::invalid_input, "not the root of a git repository"},
      {"key without certificate", [&](BuildRequest& r) { r.sign_key = pki("signer-key.pem"); },
       Errc::usage, "go together"},
      {"certificate without key", [&](BuildRequest& r) { r.sign_cert = pki("signer.pem"); },
       Errc::usage, "go together"},
      {"missing signer certificate",
       [&](BuildRequest& r) {
         r.sign_key = pki("signer-key.pem");
         r.sign_cert = pki("missing.pem");
       },
       Errc::file_missing, "missing.pem"},
      {"signer certificate not PEM",
       [&](BuildRequest& r) {
         r.sign_key = pki("signer-key.pem");
         r.sign_cert = pki("not-pem.pem");
       },
       Errc::invalid_input, "not-pem.pem"},
      {"tenant certificate",
       [&](BuildRequest& r) {
         r.sign_key = pki("tenant-key.pem");
         r.sign_cert = pki("tenant.pem");
       },
       Errc::invalid_input, "codeSigning"},
      {"CA certificate",
       [&](BuildRequest& r) {
         r.sign_key = pki("ca-key.pem");
         r.sign_cert = pki("ca.pem");
       },
       Errc::invalid_input, "CA certificate"},
      {"expired signer",
       [&](BuildRequest& r) {
         r.sign_key = pki("expired-key.pem");
         r.sign_cert = pki("expired.pem");
       },
       Errc::invalid_input, "has expired"},
      {"signer not valid yet",
       [&](BuildRequest& r) {
         r.sign_key = pki("future-key.pem");
         r.sign_cert = pki("future.pem");
       },
       Errc::invalid_input, "not valid yet"},
      {"key of another certificate",
       [&](BuildRequest& r) {
         r.sign_key = pki("tenant-key.pem");
         r.sign_cert = pki("signer.pem");
       },
       Errc::key_backend, "does not match"},
      {"missing key file",
       [&](BuildRequest& r) {
         r.sign_key = pki("missing-key.pem");
         r.sign_cert = pki("signer.pem");
       },
       Errc::file_missing, "missing-key.pem"},
  };
  for (auto& c : cases) {
    auto before = listing(dir_.path());
    auto req = build_request();
    c.edit(req);
    auto r = build_image_provenance(req, {});
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
    expect_no_flag(r.error(), c.name);
    EXPECT_EQ(listing(dir_.path()), before) << c.name << ": something was written";
  }
}

TEST_F(Requests, BuildNeverReplacesAnOutputWithoutForce) {
  auto req = build_request();
  write(req.output->string(), "keep me\n");
  for (bool sign : {false, true}) {
    if (sign) {
      req.sign_key = pki("signer-key.pem");
      req.sign_cert = pki("signer.pem");
    }
    auto r = build_image_provenance(req, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::exists) << r.error().message;
    EXPECT_NE(r.error().message.find("already exists"), std::string::npos) << r.error().message;
    expect_no_flag(r.error(), "exists");
    EXPECT_EQ(slurp(req.output->string()), "keep me\n");
  }
  // A symbolic link counts as existing (and is not followed).
  fs::create_symlink(pki("ca.pem"), work_ / "link.json");
  req.output = work_ / "link.json";
  auto link = build_image_provenance(req, {});
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, Errc::exists);
  EXPECT_TRUE(fs::is_symlink(work_ / "link.json"));
  // With force it is replaced.
  req = build_request();
  req.force = true;
  auto w = build_image_provenance(req, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(slurp(req.output->string()), w->text);
}

TEST_F(Requests, BuildWritesTheRecordOrReturnsIt) {
  auto req = build_request();
  auto w = build_image_provenance(req, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->output, req.output);
  EXPECT_FALSE(w->signed_bundle);
  EXPECT_EQ(w->binaries, 1u);
  EXPECT_EQ(slurp(req.output->string()), w->text);
  EXPECT_EQ(fs::status(*req.output).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  // No output: the same bytes come back and nothing is written.
  auto before = listing(dir_.path());
  req.output.reset();
  auto text_only = build_image_provenance(req, {});
  ASSERT_TRUE(text_only) << text_only.error().message;
  EXPECT_FALSE(text_only->output);
  EXPECT_EQ(text_only->text, w->text);
  EXPECT_EQ(listing(dir_.path()), before);
}

TEST_F(Requests, SignedBuildVerifies) {
  auto req = build_request();
  req.sign_key = pki("signer-key.pem");
  req.sign_cert = pki("signer.pem");
  auto w = build_image_provenance(req, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_TRUE(w->signed_bundle);
  VerifyRequest v;
  v.input = *req.output;
  v.ca = pki("ca.pem");
  auto r = verify_image_provenance(v);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->report.signed_bundle);
  EXPECT_EQ(r->report.pipeline, "ci");
  EXPECT_TRUE(r->verdict());
}

// ---------------------------------------------------------------- sign

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
    s.output = work_ / "bundle.json";
    c.edit(s);
    auto r = sign_image_provenance(s, {});
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
    expect_no_flag(r.error(), c.name);
    EXPECT_EQ(listing(dir_.path()), before) << c.name << ": something was written";
  }
}

TEST_F(Requests, SignNeverReplacesAnOutputWithoutForce) {
  SignRequest s;
  s.input = record_file();
  s.sign_key = pki("signer-key.pem");
  s.sign_cert = pki("signer.pem");
  s.output = work_ / "bundle.json";
  write(s.output->string(), "keep me\n");
  auto r = sign_image_provenance(s, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::exists);
  expect_no_flag(r.error(), "exists");
  EXPECT_EQ(slurp(s.output->string()), "keep me\n");
  s.force = true;
  auto w = sign_image_provenance(s, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_TRUE(w->signed_bundle);
  EXPECT_EQ(w->binaries, 1u);
  EXPECT_EQ(slurp(s.output->string()), w->text);
}

TEST_F(Requests, SigningKeyReferencesAreRedactedInErrors) {
  // A PIN in the URI must never reach a message, whatever fails.
  auto k = open_signing_key(
      "pkcs11:token=t;object=o?module-path=/nonexistent/module.so&pin-value=135792468", {});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message.find("135792468"), std::string::npos) << k.error().message;
  EXPECT_NE(k.error().message.find("signing key"), std::string::npos) << k.error().message;
  auto good = open_signing_key(pki("signer-key.pem"), {});
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_TRUE(public_keys_equal(good->signer->public_key(), X509_get0_pubkey(signer_->cert.get())));
}

// ---------------------------------------------------------------- verify

TEST_F(Requests, VerifyRefusals) {
  std::string record = record_file();
  std::string bundle = bundle_file();
  struct Case {
    const char* name;
    std::function<void(VerifyRequest&)> edit;
    Errc code;
    const char* reason;
  } cases[] = {
      {"missing input", [&](VerifyRequest& v) { v.input = pki("no-such.json"); },
       Errc::file_missing, "no-such.json"},
      {"missing CA file",
       [&](VerifyRequest& v) {
         v.input = bundle;
         v.ca = pki("no-ca.pem");
       },
       Errc::file_missing, "no-ca.pem"},
      {"CA file without a certificate",
       [&](VerifyRequest& v) {
         v.input = bundle;
         v.ca = pki("not-pem.pem");
       },
       Errc::invalid_input, "holds no PEM certificate"},
      {"bundle without a CA", [&](VerifyRequest& v) { v.input = bundle; }, Errc::usage,
       "pass the fabric CA certificate"},
      {"unsigned record with a CA", [&](VerifyRequest& v) { v.ca = pki("ca.pem"); }, Errc::mismatch,
       "unsigned record"},
      {"too many overrides",
       [&](VerifyRequest& v) {
         v.binaries = std::vector<std::string>{bin_, record};
       },
       Errc::usage, "order-matched"},
      {"no overrides", [&](VerifyRequest& v) { v.binaries = std::vector<std::string>{}; },
       Errc::usage, "order-matched"},
      {"CA file holding a leaf",
       [&](VerifyRequest& v) {
         v.input = bundle;
         v.ca = pki("signer.pem");
       },
       Errc::invalid_input, "not a CA certificate"},
  };
  for (auto& c : cases) {
    VerifyRequest v;
    v.input = record;
    c.edit(v);
    auto r = verify_image_provenance(v);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
    expect_no_flag(r.error(), c.name);
  }
}

TEST_F(Requests, VerifyNamesTheCaAsTheCallerDoes) {
  VerifyRequest v;
  v.input = bundle_file();
  v.ca_name = "--ca";
  auto r = verify_image_provenance(v);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pass --ca"), std::string::npos) << r.error().message;
  v.ca = pki("no-ca.pem");
  auto missing = verify_image_provenance(v);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.rfind("--ca: ", 0), 0u) << missing.error().message;
}

TEST_F(Requests, VerifyVerdictCountsMismatches) {
  VerifyRequest v;
  v.input = record_file();
  auto good = verify_image_provenance(v);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_TRUE(good->verdict());
  EXPECT_EQ(good->mismatches(), 0u);
  write(bin_, "fabricbiosd v2\n");
  auto changed = verify_image_provenance(v);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(changed->mismatches(), 1u);
  auto verdict = changed->verdict();
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error().code, Errc::mismatch);
  EXPECT_NE(verdict.error().message.find("1 of 1 binaries do not match"), std::string::npos)
      << verdict.error().message;
  fs::remove(bin_);
  auto gone = verify_image_provenance(v);
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(gone->report.binaries[0].actual.status, FileStatus::missing);
  EXPECT_EQ(gone->verdict().error().code, Errc::mismatch);
  // The override puts the runtime location in place of the recorded one.
  std::string runtime = (dir_.path() / "runtime-fabricbiosd").string();
  write(runtime, "fabricbiosd v1\n");
  v.binaries = std::vector<std::string>{runtime};
  auto moved = verify_image_provenance(v);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_TRUE(moved->verdict());
  EXPECT_EQ(moved->report.binaries[0].checked_path, runtime);
}

}  // namespace
