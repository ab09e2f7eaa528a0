#include "util/seal.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "tests/support/fixtures.hpp"
#include "util/base64.hpp"

using namespace grafos;

namespace {

constexpr std::string_view kSecret = "correct horse battery staple!";
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
    "-----END PRIVATE KEY-----\n";

TEST(Seal, RoundTrip) {
  auto sealed = seal::seal(kSecret, "peer-b", kKeyPem);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(sealed->find("PRIVATE KEY"), std::string::npos);
  auto opened = seal::open_sealed(kSecret, "peer-b", *sealed);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->view(), kKeyPem);
}

TEST(Seal, EmptyPlaintextRoundTrips) {
  auto sealed = seal::seal(kSecret, "p", "");
  ASSERT_TRUE(sealed);
  auto opened = seal::open_sealed(kSecret, "p", *sealed);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->empty());
}

TEST(Seal, BlobIsVersionedAndFreshEachTime) {
  auto a = seal::seal(kSecret, "peer-b", kKeyPem);
  auto b = seal::seal(kSecret, "peer-b", kKeyPem);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // fresh salt and nonce
  auto raw = base64_decode(*a);
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), 1 + 16 + 12 + kKeyPem.size() + 16);
  EXPECT_EQ((*raw)[0], seal::kVersion);
  auto raw_b = base64_decode(*b);
  EXPECT_NE(Bytes(raw->begin() + 1, raw->begin() + 29),
            Bytes(raw_b->begin() + 1, raw_b->begin() + 29));
}

TEST(Seal, WrongSecretIsAClearError) {
  auto sealed = seal::seal(kSecret, "peer-b", kKeyPem);
  ASSERT_TRUE(sealed);
  auto opened = seal::open_sealed("another secret of 16+ bytes", "peer-b", *sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::seal_open_failed);
  EXPECT_NE(opened.error().message.find("wrong seal secret"), std::string::npos);
}

TEST(Seal, WrongAadIsAClearError) {
  auto sealed = seal::seal(kSecret, "peer-b", kKeyPem);
  ASSERT_TRUE(sealed);
  for (std::string_view aad : {"peer-c", "", "peer-b ", "peer-"}) {
    auto opened = seal::open_sealed(kSecret, aad, *sealed);
    ASSERT_FALSE(opened) << aad;
    EXPECT_EQ(opened.error().code, Errc::seal_open_failed);
  }
}

TEST(Seal, EveryFlippedByteIsRefused) {
  auto sealed = seal::seal(kSecret, "peer-b", "short secret text");
  ASSERT_TRUE(sealed);
  auto raw = base64_decode(*sealed);
  ASSERT_TRUE(raw);
  for (size_t i = 0; i < raw->size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      Bytes bad = *raw;
      bad[i] ^= bit;
      auto opened = seal::open_sealed(kSecret, "peer-b", base64_encode(bad));
      ASSERT_FALSE(opened) << "byte " << i;
      EXPECT_EQ(opened.error().code, Errc::seal_open_failed) << "byte " << i;
    }
  }
}

TEST(Seal, TruncatedExtendedAndGarbageAreRefused) {
  auto sealed = seal::seal(kSecret, "peer-b", kKeyPem);
  ASSERT_TRUE(sealed);
  auto raw = base64_decode(*sealed);
  Bytes truncated(raw->begin(), raw->end() - 1);
  Bytes extended = *raw;
  extended.push_back(0);
  Bytes header_only(raw->begin(), raw->begin() + 29);
  for (const std::string& blob :
       {base64_encode(truncated), base64_encode(extended), base64_encode(header_only),
        std::string("not base64 at all!"), std::string()}) {
    auto opened = seal::open_sealed(kSecret, "peer-b", blob);
    ASSERT_FALSE(opened) << blob;
    EXPECT_EQ(opened.error().code, Errc::seal_open_failed) << blob;
  }
  Bytes v2 = *raw;
  v2[0] = 2;
  auto opened = seal::open_sealed(kSecret, "peer-b", base64_encode(v2));
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("unknown format version 2"), std::string::npos);
}

TEST(Seal, EmptyOrShortSecretIsRefused) {
  for (std::string_view s : {std::string_view(), std::string_view("fifteen bytes!!")}) {
    auto sealed = seal::seal(s, "peer-b", "x");
    ASSERT_FALSE(sealed);
    EXPECT_EQ(sealed.error().code, Errc::invalid_input);
    auto opened = seal::open_sealed(s, "peer-b", "AQ==");
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::invalid_input);
  }
  EXPECT_TRUE(seal::seal("sixteen bytes!!!", "peer-b", "x"));
}

TEST(SealSecret, FromFile0600) {
  test::TempDir dir;
  auto path = dir.path() / "seal.secret";
  test::write_private_file(path, std::string(kSecret) + "\n");
  auto s = seal::read_seal_secret(path.string());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->view(), kSecret);
  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(seal::read_seal_secret(path.string()));
}

TEST(SealSecret, FileWiderThan0600IsRefused) {
  test::TempDir dir;
  auto path = dir.path() / "seal.secret";
  test::write_private_file(path, std::string(kSecret));
  for (mode_t mode : {0640, 0604, 0644, 0660, 0602}) {
    ::chmod(path.c_str(), mode);
    auto s = seal::read_seal_secret(path.string());
    ASSERT_FALSE(s) << mode;
    EXPECT_EQ(s.error().code, Errc::invalid_input);
    EXPECT_NE(s.error().message.find("chmod 600"), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find(kSecret), std::string::npos);
  }
}

TEST(SealSecret, MissingShortAndSymlinkedFilesAreRefused) {
  test::TempDir dir;
  auto missing = seal::read_seal_secret((dir.path() / "nope").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::file_missing);
  auto path = dir.path() / "short";
  test::write_private_file(path, "short\n");
  auto s = seal::read_seal_secret(path.string());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::invalid_input);
  EXPECT_EQ(s.error().message.find("short\n"), std::string::npos);
  auto good = dir.path() / "good";
  test::write_private_file(good, std::string(kSecret));
  std::filesystem::create_symlink(good, dir.path() / "link");
  auto link = seal::read_seal_secret((dir.path() / "link").string());
  ASSERT_FALSE(link);
}

TEST(SealSecret, FromEnvironmentAndRemovedFromIt) {
  ::setenv(seal::kSealSecretEnv, std::string(kSecret).c_str(), 1);
  auto s = seal::read_seal_secret("");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->view(), kSecret);
  EXPECT_EQ(std::getenv(seal::kSealSecretEnv), nullptr);
}

}  // namespace
