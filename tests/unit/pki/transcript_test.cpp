// The CA's memory: signed checkpoints, the ledger and the transcript, on real files and a real
// SQLite database in a temporary folder.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pki/checkpoint.hpp"
#include "pki/ledger.hpp"
#include "pki/transcript.hpp"

using namespace grafos;
using namespace grafos::pki;
using nlohmann::json;

namespace {

EvpPkeyPtr p256() { return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

class TempDir : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/grafos-transcript-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(const std::filesystem::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
  }
  std::filesystem::path dir_;
};

// ---- signed notes ----

TEST(Checkpoint, BodyRoundTripsAndRefusesMalformed) {
  Checkpoint c{"grafos-ca/0123456789abcdef", 42, merkle::leaf_hash("x")};
  auto body = checkpoint_body(c);
  auto back = parse_checkpoint_body(body);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->origin, c.origin);
  EXPECT_EQ(back->size, 42u);
  EXPECT_EQ(back->root, c.root);
  for (const char* bad : {"", "o\n42\n", "o\n042\nAAAA\n", "o\n-1\nAAAA\n", "o\n4 2\nAAAA\n",
                          "o\n42\nAAAA\n", "\n1\nAAAA\n", "o\x1b[2K\n1\nAAAA\n"}) {
    EXPECT_FALSE(parse_checkpoint_body(bad)) << bad;
  }
  EXPECT_FALSE(parse_checkpoint_body(body + "extension\n"));
}

TEST(Checkpoint, SignedNoteVerifiesOnlyUnchangedAndWithTheRightKey) {
  auto key = p256();
  EVP_PKEY_up_ref(key.get());
  hsm::EvpSigner signer(EvpPkeyPtr(key.get()), "ca");
  std::string text = checkpoint_body({"grafos-ca/test", 3, merkle::leaf_hash("a")});
  auto note = sign_note(text, "grafos-ca/test", signer);
  ASSERT_TRUE(note) << note.error().message;
  EXPECT_NE(note->find("\n\n\xE2\x80\x94 grafos-ca/test "), std::string::npos) << *note;
  auto opened = open_note(*note, "grafos-ca/test", key.get());
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, text);

  std::string changed = *note;
  changed[changed.find("\n3\n") + 1] = '4';
  auto r = open_note(changed, "grafos-ca/test", key.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::mismatch);
  auto other = p256();
  EXPECT_EQ(open_note(*note, "grafos-ca/test", other.get()).error().code, Errc::mismatch);
  EXPECT_EQ(open_note(*note, "grafos-ca/other", key.get()).error().code, Errc::mismatch);
  EXPECT_FALSE(sign_note("no newline", "k", signer));
  EXPECT_FALSE(sign_note("x\n", "has space", signer));
}

// ---- the ledger ----

LedgerEntry row(const std::string& serial, const std::string& identity, const std::string& spki) {
  LedgerEntry e;
  e.serial = serial;
  e.role = "tenant";
  e.identity = identity;
  e.subject = "CN=" + identity;
  e.san = "URI:urn:fabricbios:tenant:" + identity;
  e.not_before = 1000;
  e.not_after = 2000;
  e.spki_sha256 = spki;
  e.tbs_sha256 = "tbs-" + serial;
  e.reserved_at = 1000;
  return e;
}

class LedgerTest : public TempDir {};

TEST_F(LedgerTest, ReservesConfirmsRevokesAndNeverReusesASerial) {
  auto path = dir_ / "ca-ledger.db";
  auto l = Ledger::open(path, "ca-sha", "ca-spki", true);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_TRUE((*l)->reserve(row("01", "acme", "k1")));
  auto dup = (*l)->reserve(row("01", "globex", "k2"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::exists);
  ASSERT_TRUE((*l)->confirm("01", "cert-sha", "/x/client.pem", 1001));
  auto f = (*l)->find("01");
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->state, CertState::issued);
  EXPECT_EQ((*f)->cert_sha256, "cert-sha");
  EXPECT_FALSE((*l)->confirm("01", "again", "", 1002)) << "confirmed twice";

  // The same key for another identity, or the CA's own key, is refused; renewal is fine.
  auto reused = (*l)->reserve(row("02", "globex", "k1"));
  ASSERT_FALSE(reused);
  EXPECT_NE(reused.error().message.find("already certified for another identity"),
            std::string::npos);
  EXPECT_FALSE((*l)->reserve(row("03", "globex", "ca-spki")));
  EXPECT_TRUE((*l)->reserve(row("04", "acme", "k1"))) << "renewal with the same key";

  auto rv = (*l)->revoke("01", RevocationReason::key_compromise, 1500, 1400);
  ASSERT_TRUE(rv) << rv.error().message;
  EXPECT_EQ(rv->state, CertState::revoked);
  auto twice = (*l)->revoke("01", RevocationReason::superseded, 1600, std::nullopt);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("already revoked (keyCompromise)"), std::string::npos);
  auto unknown = (*l)->revoke("ff", RevocationReason::unspecified, 1600, std::nullopt);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::invalid_input);

  // A released reservation goes; an issued row never does.
  ASSERT_TRUE((*l)->release("04"));
  EXPECT_FALSE(*(*l)->find("04"));
  ASSERT_TRUE((*l)->release("01"));
  EXPECT_TRUE(*(*l)->find("01"));

  LedgerFilter revoked;
  revoked.state = CertState::revoked;
  EXPECT_EQ((*l)->list(revoked)->size(), 1u);
  EXPECT_EQ((*l)->list({})->size(), 1u);

  EXPECT_EQ(*(*l)->next_crl_number(), 1);
  EXPECT_EQ(*(*l)->next_crl_number(), 2);
  l->reset();
  // Reopened: the state and the CRL number survive; another CA's ledger is refused.
  auto again = Ledger::open(path, "ca-sha", "ca-spki", false);
  ASSERT_TRUE(again);
  EXPECT_EQ(*(*again)->next_crl_number(), 3);
  auto other = Ledger::open(path, "other-ca", "x", false);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("belongs to another CA"), std::string::npos);
  auto missing = Ledger::open(dir_ / "none.db", "ca-sha", "ca-spki", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::file_missing);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "none.db")) << "nothing created";
}

TEST(Ledger, ReasonNamesParseInEveryUsualSpelling) {
  EXPECT_EQ(*parse_revocation_reason("keyCompromise"), RevocationReason::key_compromise);
  EXPECT_EQ(*parse_revocation_reason("key-compromise"), RevocationReason::key_compromise);
  EXPECT_EQ(*parse_revocation_reason("KEY_COMPROMISE"), RevocationReason::key_compromise);
  EXPECT_EQ(*parse_revocation_reason("superseded"), RevocationReason::superseded);
  for (const char* bad : {"", "hold", "certificateHold", "removeFromCRL", "7"}) {
    auto r = parse_revocation_reason(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::usage);
  }
}

// ---- the transcript ----

class TranscriptTest : public TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    key_ = p256();
    EVP_PKEY_up_ref(key_.get());
    signer_ = std::make_unique<hsm::EvpSigner>(EvpPkeyPtr(key_.get()), "ca");
    path_ = dir_ / "ca-transcript.log";
  }
  AppendResult append(std::vector<json> entries) {
    auto r = append_to_transcript(path_, kOrigin, *signer_, std::move(entries));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : AppendResult{};
  }
  TranscriptReport verify(const std::optional<std::string>& saved = std::nullopt) {
    auto r = verify_transcript(path_, kOrigin, key_.get(), saved);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : TranscriptReport{};
  }
  std::vector<std::string> lines() {
    std::vector<std::string> out;
    std::istringstream in(read(path_));
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void write_lines(const std::vector<std::string>& ls) {
    std::string s;
    for (auto& l : ls) s += l + "\n";
    write(path_, s);
  }
  static std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += x + "\n";
    return s;
  }
  static constexpr const char* kOrigin = "grafos-ca/test0123456789";
  EvpPkeyPtr key_;
  std::unique_ptr<hsm::EvpSigner> signer_;
  std::filesystem::path path_;
};

TEST_F(TranscriptTest, AppendsVerifyAndASavedCheckpointIsExtended) {
  auto first = append({{{"op", "init-ca"}}});
  EXPECT_EQ(first.tree.size, 1u);
  append({{{"op", "issue"}, {"serial", "01"}}, {{"op", "issue"}, {"serial", "02"}}});
  auto last = append({{{"op", "revoke"}, {"serial", "01"}}});
  EXPECT_EQ(last.tree.size, 4u);
  auto rep = verify(first.checkpoint);
  EXPECT_TRUE(rep.problems.empty()) << joined(rep.problems);
  EXPECT_EQ(rep.entries, 4u);
  EXPECT_EQ(rep.checkpoints, 3u);
  ASSERT_TRUE(rep.last);
  EXPECT_EQ(rep.last->root, last.tree.root);
  EXPECT_EQ(rep.parsed[1]["serial"], "01");
}

// Each kind of tampering is detected and named.
TEST_F(TranscriptTest, TamperingIsDetectedAndNamed) {
  auto first = append({{{"op", "init-ca"}}});
  append({{{"op", "issue"}, {"serial", "01"}}, {{"op", "issue"}, {"serial", "02"}}});
  append({{{"op", "revoke"}, {"serial", "01"}}});
  auto orig = lines();  // e0 c1 e1 e2 c2 e3 c3
  ASSERT_EQ(orig.size(), 7u);
  struct Case {
    const char* what;
    std::vector<std::string> ls;
    const char* named;
  };
  auto without = [&](std::size_t i) {
    auto v = orig;
    v.erase(v.begin() + static_cast<long>(i));
    return v;
  };
  auto modified = orig;
  modified[2].replace(modified[2].find("\"01\""), 4, "\"09\"");
  auto swapped = orig;
  std::swap(swapped[2], swapped[3]);
  std::vector<Case> cases = {
      {"modified entry", modified, "not the ones it signed"},
      {"deleted entry", without(2), "stands where entry"},
      {"reordered entries", swapped, "stands where entry"},
      {"removed checkpoint", without(1), "checkpoints, but"},
      {"truncated", std::vector<std::string>(orig.begin(), orig.begin() + 6),
       "does not end with a checkpoint"},
  };
  for (auto& c : cases) {
    write_lines(c.ls);
    auto rep = verify();
    EXPECT_FALSE(rep.problems.empty()) << c.what;
    EXPECT_NE(joined(rep.problems).find(c.named), std::string::npos)
        << c.what << ": " << joined(rep.problems);
  }
  // A checkpoint signed by another key.
  auto other = p256();
  hsm::EvpSigner forger(std::move(other), "forger");
  write_lines(std::vector<std::string>(orig.begin(), orig.begin() + 4));
  ASSERT_TRUE(append_to_transcript(path_, kOrigin, forger, {{{"op", "issue"}}}));
  EXPECT_NE(joined(verify().problems).find("with this CA's key"), std::string::npos);

  // Truncated to before the auditor's saved checkpoint, with a fresh valid tail: the saved
  // checkpoint is not extended.
  auto saved = orig[4].substr(0);  // checkpoint 2 covers 3 entries
  auto saved_note = json::parse(saved)["note"].get<std::string>();
  write_lines(std::vector<std::string>(orig.begin(), orig.begin() + 2));
  append({{{"op", "issue"}, {"serial", "99"}}, {{"op", "issue"}, {"serial", "98"}}});
  auto rep = verify(saved_note);
  EXPECT_NE(joined(rep.problems).find("does not extend the saved checkpoint"), std::string::npos)
      << joined(rep.problems);
  (void)first;
}

TEST_F(TranscriptTest, AnInterruptedAppendIsCutOffAndReported) {
  append({{{"op", "init-ca"}}});
  std::string before = read(path_);
  write(path_, before + "{\"checkpoints\":1,\"index\":1,\"op\":\"iss");
  EXPECT_NE(joined(verify().problems).find("cut short"), std::string::npos);
  auto r = append({{{"op", "issue"}}});
  EXPECT_GT(r.torn_bytes, 0u);
  auto rep = verify();
  EXPECT_TRUE(rep.problems.empty()) << joined(rep.problems);
  EXPECT_EQ(rep.entries, 2u);
}

}  // namespace
