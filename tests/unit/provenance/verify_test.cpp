// provenance/verify.hpp, the request layer (verify_provenance itself: provenance_test.cpp): every
// refusal of a verify request with its code and reason, the caller's name for the CA, and the
// verdict over what was found.
#include <gtest/gtest.h>

#include "provenance/verify.hpp"
#include "tests/unit/provenance/request_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace grafos;
using namespace grafos::provenance;
using namespace grafos::testing;

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
    expect_refused(r, c.name, c.code, c.reason);
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
