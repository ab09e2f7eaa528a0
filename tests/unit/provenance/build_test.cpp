// provenance/build.hpp: every refusal of a build request with its code and reason, nothing written
// (the folder listing is unchanged), an existing output kept without force, no CLI flag in a
// message; a build writes the record (or returns it) and a signed build verifies.
#include <gtest/gtest.h>

#include "provenance/build.hpp"
#include "provenance/verify.hpp"
#include "tests/unit/provenance/request_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace grafos;
using namespace grafos::provenance;
using namespace grafos::testing;

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
    expect_refused(r, c.name, c.code, c.reason);
    EXPECT_EQ(listing(dir_.path()), before) << c.name << ": something was written";
  }
}

TEST_F(Requests, BuildNeverReplacesAnOutputWithoutForce) {
  auto req = build_request();
  write(req.output.path->string(), "keep me\n");
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
    EXPECT_EQ(slurp(req.output.path->string()), "keep me\n");
  }
  // Refused before any hashing: a missing binary is not even looked at.
  req.record.binaries = {bin_ + "-nope"};
  auto early = build_image_provenance(req, {});
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::exists) << early.error().message;
  req.record.binaries = {bin_};
  // A symbolic link counts as existing (and is not followed).
  fs::create_symlink(pki("ca.pem"), work_ / "link.json");
  req.output.path = work_ / "link.json";
  auto link = build_image_provenance(req, {});
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, Errc::exists);
  EXPECT_TRUE(fs::is_symlink(work_ / "link.json"));
  // With force it is replaced.
  req = build_request();
  req.output.force = true;
  auto w = build_image_provenance(req, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(slurp(req.output.path->string()), w->text);
}

TEST_F(Requests, BuildWritesTheRecordOrReturnsIt) {
  auto req = build_request();
  auto w = build_image_provenance(req, {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->output, req.output.path);
  EXPECT_FALSE(w->signed_bundle);
  EXPECT_EQ(w->binaries, 1u);
  EXPECT_EQ(slurp(req.output.path->string()), w->text);
  EXPECT_EQ(fs::status(*req.output.path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  // No output: the same bytes come back and nothing is written.
  auto before = listing(dir_.path());
  req.output.path.reset();
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
  v.input = *req.output.path;
  v.ca = pki("ca.pem");
  auto r = verify_image_provenance(v);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->report.signed_bundle);
  EXPECT_EQ(r->report.pipeline, "ci");
  EXPECT_TRUE(r->verdict());
}

}  // namespace
