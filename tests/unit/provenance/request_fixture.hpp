// Fixture of the request/response tests of image-provenance (build_test.cpp, sign_test.cpp,
// verify_test.cpp): a test PKI as PEM files (fabric CA, provenance signer, tenant, expired and
// not-yet-valid signers), a git repository and one binary, all in a temporary folder.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "provenance/build.hpp"
#include "provenance/sign.hpp"
#include "provenance/verify.hpp"
#include "tests/unit/provenance/test_pki.hpp"

namespace grafos::testing {

namespace fs = std::filesystem;

/// Every path under `dir`, to prove that a refused request wrote nothing.
inline std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(e.path().string());
  return out;
}

/// Writes <name>.pem and <name>-key.pem into `dir`.
inline void write_pair(const fs::path& dir, const std::string& name, const KeyCert& kc) {
  write((dir / (name + ".pem")).string(), *x509_to_pem(kc.cert.get()));
  write((dir / (name + "-key.pem")).string(), *private_key_to_pem(kc.key.get()));
}

/// The test PKI, repository and binary of one test.
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

  provenance::BuildRequest build_request() const {
    provenance::BuildRequest r;
    r.record.image_kind = "aws-ami";
    r.record.image_name = "grafos-cell-1";
    r.record.binaries = {bin_};
    r.record.repo = repo_;
    r.record.source_date_epoch = "1795456800";
    r.output.path = work_ / "provenance.json";
    return r;
  }

  // A record file made by build, in the pki folder (outside `work_`).
  std::string record_file() {
    auto r = build_request();
    r.output.path = pki_ / "record.json";
    r.output.force = true;
    auto w = provenance::build_image_provenance(r, {});
    EXPECT_TRUE(w) << w.error().message;
    return r.output.path->string();
  }

  // A bundle file made by sign, in the pki folder.
  std::string bundle_file() {
    provenance::SignRequest s;
    s.input = record_file();
    s.sign_key = pki("signer-key.pem");
    s.sign_cert = pki("signer.pem");
    s.output.path = pki_ / "bundle.json";
    s.output.force = true;
    auto w = provenance::sign_image_provenance(s, {});
    EXPECT_TRUE(w) << w.error().message;
    return s.output.path->string();
  }

  inline static KeyCert* ca_ = nullptr;
  inline static KeyCert* signer_ = nullptr;
  inline static KeyCert* tenant_ = nullptr;
  inline static KeyCert* expired_ = nullptr;
  inline static KeyCert* future_ = nullptr;
  TempDir dir_;
  fs::path pki_, work_;
  std::string repo_, bin_;
};

/// Library messages name what went wrong in their own terms, never a flag.
inline void expect_no_flag(const Error& e, const std::string& name) {
  EXPECT_EQ(e.message.find("--"), std::string::npos) << name << ": " << e.message;
}

/// Checks that `r` was refused with `code` and a message that holds `reason` and names no flag.
template <class T>
void expect_refused(const Result<T>& r, const std::string& name, Errc code, const char* reason) {
  ASSERT_FALSE(r) << name;
  EXPECT_EQ(r.error().code, code) << name << ": " << r.error().message;
  EXPECT_NE(r.error().message.find(reason), std::string::npos) << name << ": " << r.error().message;
  expect_no_flag(r.error(), name);
}

}  // namespace grafos::testing
