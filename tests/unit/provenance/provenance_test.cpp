#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "provenance/base64.hpp"
#include "provenance/dsse.hpp"
#include "provenance/git_state.hpp"
#include "provenance/hash.hpp"
#include "provenance/record.hpp"
#include "provenance/verify.hpp"
#include "tests/unit/provenance/test_pki.hpp"
#include "util/json.hpp"

namespace fs = std::filesystem;
using namespace grafos;
using namespace grafos::provenance;
using grafos::testing::KeyCert;
using grafos::testing::LeafSpec;
using grafos::testing::slurp;
using grafos::testing::TempDir;
using grafos::testing::write;
using nlohmann::json;

namespace {

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// A git repository with one commit of `tracked.txt`.
void make_repo(const std::string& dir) {
  fs::create_directories(dir);
  write(dir + "/tracked.txt", "v1\n");
  ASSERT_EQ(sh("cd '" + dir +
               "' && git init -q . && git -c user.name=t -c user.email=t@e add tracked.txt && "
               "git -c user.name=t -c user.email=t@e commit -q -m init"),
            0);
}

std::unique_ptr<hsm::Signer> signer_for(const KeyCert& kc) {
  EVP_PKEY_up_ref(kc.key.get());
  return std::make_unique<hsm::EvpSigner>(EvpPkeyPtr(kc.key.get()), "test key");
}

// A record for the files in `paths` with the given contents, built directly.
json record_for(const std::vector<std::pair<std::string, std::string>>& files) {
  json bins = json::array();
  for (auto& [path, data] : files)
    bins.push_back({{"path", path}, {"sha256", sha256_hex(data)}, {"size", data.size()}});
  return json{{"schema_version", 1},
              {"image", {{"kind", "lab-debian-image"}, {"name", "img"}}},
              {"source", {{"commit", std::string(40, 'a')}, {"dirty", false}}},
              {"binaries", bins},
              {"build", {{"host", "h"}, {"user", "u"}, {"time", "2026-11-23T18:00:00Z"}}},
              {"reserved",
               {{"aws", nullptr}, {"gcp", nullptr}, {"azure", nullptr}, {"conformance", nullptr}}}};
}

std::string flip_bit(std::string s, size_t bit) {
  s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  return s;
}

// Replaces the payload and/or payloadType of a bundle and re-signs with `key` (valid signature).
std::string resign(const std::string& bundle_text, const std::string& payload,
                   const std::string& type, const KeyCert& signer) {
  json b = json::parse(bundle_text);
  auto s = signer_for(signer);
  std::string m = pae(type, payload);
  auto sig = s->sign(
      std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(m.data()), m.size()));
  b["dsseEnvelope"]["payload"] = base64_encode(payload);
  b["dsseEnvelope"]["payloadType"] = type;
  b["dsseEnvelope"]["signatures"][0]["sig"] = base64_encode(*sig);
  return b.dump(2) + "\n";
}

std::string payload_of(const std::string& bundle_text) {
  json b = json::parse(bundle_text);
  auto p = base64_decode(b["dsseEnvelope"]["payload"].get<std::string>());
  return std::string(p->begin(), p->end());
}

// Returns `text` (JSON) with the value at `pointer` set to `value`.
std::string edit(const std::string& text, const std::string& pointer, const json& value) {
  json j = json::parse(text);
  j[json::json_pointer(pointer)] = value;
  return j.dump();
}

// ---------------------------------------------------------------- base64 and PAE

TEST(Base64, RoundTripsAndRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto& [plain, enc] : vectors) {
    EXPECT_EQ(base64_encode(plain), enc);
    auto d = base64_decode(enc);
    ASSERT_TRUE(d) << enc;
    EXPECT_EQ(std::string(d->begin(), d->end()), plain);
  }
}

TEST(Base64, RefusesNonCanonicalAndMalformed) {
  for (const char* bad : {"Zg=", "Zg", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Z===", "=Zm9",
                          "Zm9v====", "Zm-v", "Zm_v", "Zg==Zg==", "****"}) {
    auto d = base64_decode(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.error().code, Errc::invalid_input);
    }
  }
}

TEST(Dsse, PaeMatchesTheSpecificationVector) {
  // From the DSSE specification (protocol.md, "Test vector").
  EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(pae("", ""), "DSSEv1 0  0 ");
}

// ---------------------------------------------------------------- hashing

TEST(Hash, KnownDigestsInParallelInOrder) {
  TempDir d;
  std::vector<std::string> paths;
  std::vector<std::string> contents;
  for (int i = 0; i < 9; ++i) {
    std::string data(static_cast<size_t>(i) * 300000 + static_cast<size_t>(i),
                     static_cast<char>('a' + i));
    paths.push_back(d / ("f" + std::to_string(i)));
    write(paths.back(), data);
    contents.push_back(data);
  }
  write(d / "abc", "abc");
  paths.push_back(d / "abc");
  contents.push_back("abc");
  HashOptions o;
  o.threads = 3;
  o.buffer_size = 64 << 10;
  std::atomic<uint64_t> last{0};
  o.progress = [&](uint64_t done, uint64_t) { last = std::max<uint64_t>(last, done); };
  auto out = hash_files(paths, o);
  ASSERT_EQ(out.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(out[i].status, FileStatus::ok) << out[i].message;
    EXPECT_EQ(out[i].sha256, sha256_hex(contents[i]));
    EXPECT_EQ(out[i].size, contents[i].size());
  }
  EXPECT_EQ(out.back().sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(out[0].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  uint64_t total = 0;
  for (auto& c : contents) total += c.size();
  EXPECT_EQ(last.load(), total);
}

TEST(Hash, RefusesWhatIsNotARegularFile) {
  TempDir d;
  fs::create_directory(d / "dir");
  fs::create_symlink(d / "nowhere", d / "dangling");
  auto out = hash_files({d / "dir", "/dev/null", d / "missing", d / "dangling"});
  EXPECT_EQ(out[0].status, FileStatus::not_regular);
  EXPECT_NE(out[0].message.find("directory"), std::string::npos);
  EXPECT_EQ(out[1].status, FileStatus::not_regular);
  EXPECT_NE(out[1].message.find("character device"), std::string::npos);
  EXPECT_EQ(out[2].status, FileStatus::missing);
  EXPECT_EQ(out[3].status, FileStatus::missing);
}

// ---------------------------------------------------------------- git state and build

TEST(GitState, CleanDirtyAndUntracked) {
  TempDir d;
  std::string repo = d / "repo";
  make_repo(repo);
  auto s = read_source_state(repo);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->commit.size(), 40u);
  EXPECT_FALSE(s->dirty);
  write(repo + "/untracked.txt", "x");
  EXPECT_FALSE(read_source_state(repo)->dirty) << "untracked files do not make the tree dirty";
  write(repo + "/tracked.txt", "v2\n");
  EXPECT_TRUE(read_source_state(repo)->dirty) << "modified tracked file";
  ASSERT_EQ(sh("cd '" + repo + "' && git add tracked.txt"), 0);
  EXPECT_TRUE(read_source_state(repo)->dirty) << "staged change";
  ASSERT_EQ(sh("cd '" + repo + "' && git -c user.name=t -c user.email=t@e commit -qm two"), 0);
  EXPECT_FALSE(read_source_state(repo)->dirty);
  fs::remove(repo + "/tracked.txt");
  EXPECT_TRUE(read_source_state(repo)->dirty) << "deleted tracked file";
}

TEST(GitState, RefusesWhatIsNotARepositoryRoot) {
  TempDir d;
  std::string repo = d / "repo";
  make_repo(repo);
  fs::create_directory(repo + "/sub");
  EXPECT_FALSE(read_source_state(repo + "/sub"));
  EXPECT_FALSE(read_source_state(d / "nothing"));
  ASSERT_EQ(sh("git init -q '" + (d / "empty") + "'"), 0);
  auto e = read_source_state(d / "empty");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("HEAD"), std::string::npos);
}

TEST(Build, RecordHasTheSchemaAndIsStable) {
  TempDir d;
  std::string repo = d / "repo";
  make_repo(repo);
  write(d / "b", "second");
  write(d / "a", "first");
  RecordRequest req;
  req.image_kind = "aws-ami";
  req.image_name = "grafos-cell-2026-11-23";
  req.binaries = {d / "b", d / "a"};
  req.repo = repo;
  req.source_date_epoch = "1795456800";
  auto r1 = make_record(req);
  ASSERT_TRUE(r1) << r1.error().message;
  auto r2 = make_record(req);
  ASSERT_TRUE(r2);
  EXPECT_EQ(*to_canonical_json(*r1), *to_canonical_json(*r2));
  const json& r = *r1;
  EXPECT_EQ(r["schema_version"], 1);
  EXPECT_EQ(r["image"]["kind"], "aws-ami");
  EXPECT_EQ(r["image"]["name"], "grafos-cell-2026-11-23");
  EXPECT_EQ(r["source"]["commit"], read_source_state(repo)->commit);
  EXPECT_EQ(r["source"]["dirty"], false);
  ASSERT_EQ(r["binaries"].size(), 2u);
  EXPECT_EQ(r["binaries"][0]["path"], d / "b");  // --binary order, not sorted
  EXPECT_EQ(r["binaries"][0]["sha256"], sha256_hex("second"));
  EXPECT_EQ(r["binaries"][0]["size"], 6);
  EXPECT_EQ(r["binaries"][1]["path"], d / "a");
  EXPECT_EQ(r["build"]["time"], "2026-11-23T18:00:00Z");
  EXPECT_FALSE(r["build"]["host"].get<std::string>().empty());
  EXPECT_FALSE(r["build"]["user"].get<std::string>().empty());
  EXPECT_EQ(
      r["reserved"],
      json({{"aws", nullptr}, {"gcp", nullptr}, {"azure", nullptr}, {"conformance", nullptr}}));
  EXPECT_TRUE(check_record(r));
  // Canonical text: sorted keys, 2-space indent, trailing newline.
  std::string text = *to_canonical_json(r);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_LT(text.find("\"binaries\""), text.find("\"build\""));
  EXPECT_LT(text.find("\"reserved\""), text.find("\"schema_version\""));
}

TEST(Build, Refusals) {
  TempDir d;
  std::string repo = d / "repo";
  make_repo(repo);
  write(d / "a", "x");
  fs::create_directory(d / "dir");
  struct Case {
    const char* name;
    std::vector<std::string> bins;
    std::optional<std::string> sde;
    std::string repo;
    const char* reason;
  } cases[] = {
      {"no binaries", {}, {}, repo, "at least one binary"},
      {"duplicate", {d / "a", d / "./a"}, {}, repo, "given twice"},
      {"missing", {d / "nope"}, {}, repo, "nope"},
      {"directory", {d / "dir"}, {}, repo, "directory"},
      {"device", {"/dev/null"}, {}, repo, "character device"},
      {"bad epoch", {d / "a"}, std::string("12x"), repo, "SOURCE_DATE_EPOCH"},
      {"negative epoch", {d / "a"}, std::string("-5"), repo, "SOURCE_DATE_EPOCH"},
      {"not a repo", {d / "a"}, {}, d / "dir", "not the root of a git repository"},
  };
  for (auto& c : cases) {
    RecordRequest req;
    req.image_kind = "k";
    req.image_name = "n";
    req.binaries = c.bins;
    req.repo = c.repo;
    req.source_date_epoch = c.sde;
    auto r = make_record(req);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST(Record, CheckRefusesBadRecords) {
  json good = record_for({{"/bin/a", "a"}});
  ASSERT_TRUE(check_record(good));
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* reason;
  } cases[] = {
      {"schema 2", [](json& j) { j["schema_version"] = 2; }, "unknown schema_version 2"},
      {"schema string", [](json& j) { j["schema_version"] = "1"; }, "unknown schema_version"},
      {"schema float", [](json& j) { j["schema_version"] = 1.5; }, "unknown schema_version"},
      {"schema missing", [](json& j) { j.erase("schema_version"); }, "no schema_version"},
      {"no binaries", [](json& j) { j.erase("binaries"); }, "binaries"},
      {"empty binaries", [](json& j) { j["binaries"] = json::array(); }, "binaries is empty"},
      {"dup path", [](json& j) { j["binaries"].push_back(j["binaries"][0]); },
       "duplicate binary path"},
      {"dup path normalised",
       [](json& j) {
         auto b = j["binaries"][0];
         b["path"] = "/bin/./a";
         j["binaries"].push_back(b);
       },
       "duplicate binary path"},
      {"upper hex", [](json& j) { j["binaries"][0]["sha256"] = std::string(64, 'A'); }, "sha256"},
      {"short hex", [](json& j) { j["binaries"][0]["sha256"] = "abcd"; }, "sha256"},
      {"negative size", [](json& j) { j["binaries"][0]["size"] = -1; }, "size"},
      {"size string", [](json& j) { j["binaries"][0]["size"] = "1"; }, "size"},
      {"no commit", [](json& j) { j["source"].erase("commit"); }, "source.commit"},
      {"dirty string", [](json& j) { j["source"]["dirty"] = "no"; }, "source.dirty"},
      {"no image", [](json& j) { j.erase("image"); }, "image"},
      {"no reserved", [](json& j) { j.erase("reserved"); }, "reserved"},
      {"array", [](json& j) { j = json::array(); }, "not a JSON object"},
  };
  for (auto& c : cases) {
    json j = good;
    c.edit(j);
    auto r = check_record(j);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

// ---------------------------------------------------------------- verify (unsigned)

class VerifyRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = dir_ / "a";
    b_ = dir_ / "b";
    write(a_, "alpha binary");
    write(b_, "beta binary");
    record_ = record_for({{a_, "alpha binary"}, {b_, "beta binary"}});
  }
  Result<VerifyReport> verify(const std::string& text, VerifyOptions o = {}) {
    return verify_provenance(text, o);
  }
  std::string text() const { return record_.dump(2); }
  TempDir dir_;
  std::string a_, b_;
  json record_;
};

TEST_F(VerifyRecord, MatchingBinariesVerify) {
  auto r = verify(text());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->ok());
  EXPECT_FALSE(r->signed_bundle);
  ASSERT_EQ(r->binaries.size(), 2u);
  EXPECT_EQ(r->binaries[0].path, a_);
}

TEST_F(VerifyRecord, EveryChangeOnDiskIsAMismatch) {
  struct Case {
    const char* name;
    std::function<void()> change;
    FileStatus status;
  } cases[] = {
      {"changed byte", [&] { write(a_, "alpha binarY"); }, FileStatus::ok},
      {"truncated", [&] { write(a_, "alpha binar"); }, FileStatus::ok},
      {"extended", [&] { write(a_, "alpha binary\n"); }, FileStatus::ok},
      {"emptied", [&] { write(a_, ""); }, FileStatus::ok},
      {"missing", [&] { fs::remove(a_); }, FileStatus::missing},
      {"directory",
       [&] {
         fs::remove(a_);
         fs::create_directory(a_);
       },
       FileStatus::not_regular},
      {"device",
       [&] {
         fs::remove(a_);
         fs::create_symlink("/dev/zero", a_);
       },
       FileStatus::not_regular},
  };
  for (auto& c : cases) {
    fs::remove_all(a_);
    write(a_, "alpha binary");
    ASSERT_TRUE(verify(text())->ok());
    c.change();
    auto r = verify(text());
    ASSERT_TRUE(r) << c.name;
    EXPECT_FALSE(r->ok()) << c.name;
    EXPECT_FALSE(r->binaries[0].match) << c.name;
    EXPECT_EQ(r->binaries[0].actual.status, c.status) << c.name;
    EXPECT_TRUE(r->binaries[1].match) << c.name;
  }
}

TEST_F(VerifyRecord, OverridesAreOrderMatchedAndCounted) {
  std::string a2 = dir_ / "a2", b2 = dir_ / "b2";
  write(a2, "alpha binary");
  write(b2, "beta binary");
  VerifyOptions o;
  o.use_overrides = true;
  o.overrides = {a2, b2};
  EXPECT_TRUE(verify(text(), o)->ok());
  o.overrides = {b2, a2};  // swapped order: both mismatch
  auto swapped = verify(text(), o);
  ASSERT_TRUE(swapped);
  EXPECT_FALSE(swapped->ok());
  for (auto overrides : {std::vector<std::string>{a2}, std::vector<std::string>{a2, b2, a_},
                         std::vector<std::string>{}, std::vector<std::string>{a2, a2}}) {
    o.overrides = overrides;
    auto r = verify(text(), o);
    ASSERT_FALSE(r) << overrides.size();
    EXPECT_EQ(r.error().code, Errc::usage);
  }
}

TEST_F(VerifyRecord, BadInputIsRefused) {
  std::string t = text();
  struct Case {
    const char* name;
    std::string input;
    const char* reason;
  } cases[] = {
      {"malformed", t.substr(0, t.size() / 2), "malformed JSON"},
      {"trailing", t + "{}", "malformed JSON"},
      {"duplicate key", "{\"schema_version\":1," + t.substr(1), "duplicate JSON key"},
      {"schema 2",
       json(record_).dump().replace(json(record_).dump().find("\"schema_version\":1"), 18,
                                    "\"schema_version\":2"),
       "unknown schema_version"},
      {"empty", "", "malformed JSON"},
      {"number overflow (found by fuzzing)", "{\"schema_version\": 1e99999}", "malformed JSON"},
      // nlohmann's lexer stops at a NUL and skips a BOM: both must be refused, not resolved.
      {"NUL then anything", t + std::string(1, '\0') + "{\"schema_version\": 2}", "NUL byte"},
      {"NUL inside", t.substr(0, 5) + std::string(1, '\0') + t.substr(5), "NUL byte"},
      {"byte-order mark", "\xEF\xBB\xBF" + t, "byte-order mark"},
  };
  for (auto& c : cases) {
    auto r = verify(c.input);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST_F(VerifyRecord, UnknownAndReservedFieldsSurvive) {
  record_["future_field"] = {{"x", 1}};
  record_["reserved"]["aws"] = {{"ami_id", "ami-123"}};
  record_["binaries"][0]["extra"] = true;
  auto r = verify(text());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->record, record_);
}

// ---------------------------------------------------------------- sign and verify bundles

class Signed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new KeyCert(grafos::testing::make_ca());
    signer_ = new KeyCert(grafos::testing::make_leaf(*ca_));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete signer_;
  }
  void SetUp() override {
    a_ = dir_ / "a";
    write(a_, "alpha binary");
    record_ = record_for({{a_, "alpha binary"}});
  }
  Result<std::string> sign(const KeyCert& kc) {
    auto s = signer_for(kc);
    return sign_record(record_, *s, kc.cert.get());
  }
  Result<VerifyReport> verify(const std::string& bundle, const KeyCert* ca = nullptr) {
    VerifyOptions o;
    o.ca_pem = grafos::testing::pem(ca ? *ca : *ca_);
    return verify_provenance(bundle, o);
  }
  static KeyCert* ca_;
  static KeyCert* signer_;
  TempDir dir_;
  std::string a_;
  json record_;
};
KeyCert* Signed::ca_ = nullptr;
KeyCert* Signed::signer_ = nullptr;

TEST_F(Signed, BundleHasTheSigstoreLayoutAndVerifies) {
  auto bundle = sign(*signer_);
  ASSERT_TRUE(bundle) << bundle.error().message;
  auto b = parse_json_strict(*bundle);
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ((*b)["verificationMaterial"]["tlogEntries"], json::array());
  EXPECT_EQ((*b)["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");
  json st = json::parse(payload_of(*bundle));
  EXPECT_EQ(st["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(st["predicateType"], "https://grafos.dev/provenance/image/v1");
  EXPECT_EQ(st["predicate"], record_);
  EXPECT_EQ(st["subject"][0]["name"], a_);
  EXPECT_EQ(st["subject"][0]["digest"]["sha256"], sha256_hex("alpha binary"));
  auto r = verify(*bundle);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->ok());
  EXPECT_TRUE(r->signed_bundle);
  EXPECT_EQ(r->pipeline, "ci");
  write(a_, "alpha binarY");
  auto changed = verify(*bundle);
  ASSERT_TRUE(changed);
  EXPECT_FALSE(changed->ok());
}

TEST_F(Signed, UnknownFieldsSurviveSigning) {
  record_["reserved"]["gcp"] = {{"image", "projects/p/global/images/i"}};
  record_["later_tool"] = json::array({1, "two", nullptr});
  auto bundle = sign(*signer_);
  ASSERT_TRUE(bundle);
  auto r = verify(*bundle);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->record, record_);
}

TEST_F(Signed, SigningRefusesWrongCertificatesAndKeys) {
  auto tenant =
      grafos::testing::make_leaf(*ca_, {"acme", "URI:urn:fabricbios:tenant:acme", "clientAuth",
                                        "critical,digitalSignature", -1, 365});
  auto no_urn = grafos::testing::make_leaf(*ca_, {"x", "URI:urn:fabricbios:tenant:x", "codeSigning",
                                                  "critical,digitalSignature", -1, 365});
  auto expired =
      grafos::testing::make_leaf(*ca_, {"e", "URI:urn:fabricbios:provenance-signer:ci",
                                        "codeSigning", "critical,digitalSignature", -30, -1});
  struct Case {
    const char* name;
    const KeyCert& cert;
    const KeyCert& key;
    const char* reason;
  } cases[] = {
      {"tenant", tenant, tenant, "codeSigning"},
      {"no urn", no_urn, no_urn, "provenance-signer"},
      {"expired", expired, expired, "expired"},
      {"CA itself", *ca_, *ca_, "CA certificate"},
      {"key mismatch", *signer_, tenant, "does not match"},
  };
  for (auto& c : cases) {
    auto s = signer_for(c.key);
    auto r = sign_record(record_, *s, c.cert.cert.get());
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST_F(Signed, VerifyRefusalsWithClearReasons) {
  std::string good = *sign(*signer_);
  auto other_ca = grafos::testing::make_ca("Other CA");
  auto other_signer = grafos::testing::make_leaf(other_ca);
  auto tenant =
      grafos::testing::make_leaf(*ca_, {"acme", "URI:urn:fabricbios:tenant:acme", "clientAuth",
                                        "critical,digitalSignature", -1, 365});
  std::string body = payload_of(good);
  // A tenant certificate swapped in, signature remade by the tenant key.
  json tj = json::parse(resign(good, body, std::string(kPayloadType), tenant));
  unsigned char* der = nullptr;
  int n = i2d_X509(tenant.cert.get(), &der);
  tj["verificationMaterial"]["certificate"]["rawBytes"] =
      base64_encode(std::span<const unsigned char>(der, static_cast<size_t>(n)));
  OPENSSL_free(der);
  std::string flipped_payload = json::parse(good).dump();
  {
    json j = json::parse(good);
    std::string p = j["dsseEnvelope"]["payload"];
    p[10] = p[10] == 'A' ? 'B' : 'A';
    j["dsseEnvelope"]["payload"] = p;
    flipped_payload = j.dump();
  }
  std::string flipped_sig;
  {
    json j = json::parse(good);
    auto sig = *base64_decode(j["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
    sig[sig.size() / 2] ^= 1;
    j["dsseEnvelope"]["signatures"][0]["sig"] = base64_encode(sig);
    flipped_sig = j.dump();
  }
  struct Case {
    const char* name;
    std::string bundle;
    const KeyCert* ca;
    Errc code;
    const char* reason;
  } cases[] = {
      {"other CA's signer", *sign(other_signer), nullptr, Errc::mismatch, "does not chain"},
      {"verified against other CA", good, &other_ca, Errc::mismatch, "does not chain"},
      {"tenant signer", tj.dump(), nullptr, Errc::mismatch, "codeSigning"},
      {"flipped payload", flipped_payload, nullptr, Errc::mismatch, "signature does not verify"},
      {"flipped signature", flipped_sig, nullptr, Errc::mismatch, "signature does not verify"},
      {"other payloadType", resign(good, body, "application/json", *signer_), nullptr,
       Errc::mismatch, "payloadType"},
      {"wrong predicateType",
       resign(good, edit(body, "/predicateType", "https://x/y"), std::string(kPayloadType),
              *signer_),
       nullptr, Errc::mismatch, "predicateType"},
      {"wrong statement type",
       resign(good, edit(body, "/_type", "https://in-toto.io/Statement/v0.1"),
              std::string(kPayloadType), *signer_),
       nullptr, Errc::mismatch, "Statement v1"},
      {"subject differs from record",
       resign(good, edit(body, "/subject/0/digest/sha256", std::string(64, 'b')),
              std::string(kPayloadType), *signer_),
       nullptr, Errc::mismatch, "subject[0]"},
      {"unknown schema_version (signed)",
       resign(good, edit(body, "/predicate/schema_version", 2), std::string(kPayloadType),
              *signer_),
       nullptr, Errc::invalid_input, "unknown schema_version"},
      {"payload not JSON", resign(good, "not json", std::string(kPayloadType), *signer_), nullptr,
       Errc::invalid_input, "malformed JSON"},
      {"signed payload with a NUL and a second document",
       resign(good, body + std::string(1, '\0') + "{\"_type\":\"evil\"}", std::string(kPayloadType),
              *signer_),
       nullptr, Errc::invalid_input, "NUL byte"},
      {"signed payload with a byte-order mark",
       resign(good, "\xEF\xBB\xBF" + body, std::string(kPayloadType), *signer_), nullptr,
       Errc::invalid_input, "byte-order mark"},
      {"bundle followed by a NUL and garbage", good + std::string(1, '\0') + " anything", nullptr,
       Errc::invalid_input, "NUL byte"},
      {"unsigned record with CA", record_.dump(), nullptr, Errc::mismatch, "unsigned record"},
      {"no signature", edit(good, "/dsseEnvelope/signatures", json::array()), nullptr,
       Errc::mismatch, "no signature"},
      {"empty signature", edit(good, "/dsseEnvelope/signatures/0/sig", ""), nullptr, Errc::mismatch,
       "empty"},
      {"two signatures",
       edit(good, "/dsseEnvelope/signatures/1", json::parse(good)["dsseEnvelope"]["signatures"][0]),
       nullptr, Errc::mismatch, "exactly one"},
      {"wrong mediaType",
       edit(good, "/mediaType", "application/vnd.dev.sigstore.bundle+json;version=0.1"), nullptr,
       Errc::invalid_input, "mediaType"},
      {"tlog entries", edit(good, "/verificationMaterial/tlogEntries/0", json::object()), nullptr,
       Errc::invalid_input, "tlogEntries"},
      {"unknown field", edit(good, "/dsseEnvelope/extra", 1), nullptr, Errc::invalid_input,
       "unexpected field"},
  };
  for (auto& c : cases) {
    auto r = verify(c.bundle, c.ca);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST_F(Signed, ValidityIsCheckedAtVerificationTime) {
  std::string good = *sign(*signer_);
  VerifyOptions o;
  o.ca_pem = grafos::testing::pem(*ca_);
  o.at_time = std::time(nullptr) + 400L * 86400;
  auto late = verify_provenance(good, o);
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message.find("expired"), std::string::npos) << late.error().message;
  o.at_time = std::time(nullptr) - 3L * 86400;
  auto early = verify_provenance(good, o);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("not yet valid"), std::string::npos)
      << early.error().message;
}

TEST_F(Signed, BundleWithoutCaIsAUsageError) {
  VerifyOptions o;
  auto r = verify_provenance(*sign(*signer_), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::usage);
}

TEST_F(Signed, RawRsSignatureIsAccepted) {
  std::string good = *sign(*signer_);
  json j = json::parse(good);
  auto der = *base64_decode(j["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(sig, nullptr);
  Bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  j["dsseEnvelope"]["signatures"][0]["sig"] = base64_encode(raw);
  auto r = verify(j.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->ok());
}

// Every single-bit flip of a small valid bundle is refused (run in-process: ~20k verifications).
TEST_F(Signed, EveryBitFlipIsRefused) {
  TempDir d;
  std::string bin = d / "b";
  write(bin, "x");
  record_ = record_for({{bin, "x"}});
  std::string good = *sign(*signer_);
  VerifyOptions o;
  o.ca_pem = grafos::testing::pem(*ca_);
  ASSERT_TRUE(verify_provenance(good, o)->ok());
  size_t accepted = 0;
  for (size_t bit = 0; bit < good.size() * 8; ++bit) {
    auto r = verify_provenance(flip_bit(good, bit), o);
    if (r && r->ok()) {
      ++accepted;
      ADD_FAILURE() << "bit " << bit << " (byte " << bit / 8 << " '" << good[bit / 8]
                    << "') flipped and still accepted";
    }
  }
  EXPECT_EQ(accepted, 0u);
  RecordProperty("bits_flipped", static_cast<int>(good.size() * 8));
}

}  // namespace
