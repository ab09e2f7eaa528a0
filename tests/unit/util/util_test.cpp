#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/fixtures.hpp"
#include "util/bytes.hpp"
#include "util/file_io.hpp"
#include "util/secret.hpp"

namespace fs = std::filesystem;
using namespace grafos;

namespace {

// A private temporary directory, removed on destruction (tests/support).
struct TempDir : grafos::test::TempDir {
  TempDir() : grafos::test::TempDir("grafos-util") {}
};

mode_t mode_of(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::lstat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

size_t entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(Hex, RoundTrip) {
  const struct {
    std::string hex;
    bool valid;
  } cases[] = {{"", true}, {"00ff10", true}, {"ABcd", true}, {"abc", false}, {"zz", false}};
  for (const auto& c : cases) {
    auto b = from_hex(c.hex);
    EXPECT_EQ(b.has_value(), c.valid) << c.hex;
    if (b) {
      std::string lower = c.hex;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
      EXPECT_EQ(to_hex(std::span<const unsigned char>(*b)), lower);
    }
  }
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  Bytes a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
  EXPECT_TRUE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, c));
  EXPECT_FALSE(constant_time_equal(a, d));
}

TEST(WriteFileAtomic, CreatesWithModeAndRefusesOverwrite) {
  TempDir t;
  auto p = t.path() / "key.pem";
  ASSERT_TRUE(write_file_atomic(p, "secret", {.mode = 0600}));
  EXPECT_EQ(mode_of(p), 0600u);
  auto again = write_file_atomic(p, "other", {.mode = 0600});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::exists);
  EXPECT_EQ(*read_file(p), "secret");
  ASSERT_TRUE(write_file_atomic(p, "other", {.mode = 0600, .overwrite = true}));
  EXPECT_EQ(*read_file(p), "other");
  EXPECT_EQ(entries(t.path()), 1u) << "no temp file left behind";
}

// The umask of the process for one scope.
struct ScopedUmask {
  explicit ScopedUmask(mode_t m) : old(::umask(m)) {}
  ~ScopedUmask() { ::umask(old); }
  mode_t old;
};

TEST(WriteFileAtomic, OwnerOnlyFilesAreNeverChmodedCertificatesGetTheirModeBack) {
  TempDir t;
  {
    // A umask narrower than 0600: a chmod after creation would show as 0600 here.
    ScopedUmask u(0277);
    ASSERT_TRUE(write_file_atomic(t.path() / "key.pem", "secret", {.mode = 0600}));
    EXPECT_EQ(mode_of(t.path() / "key.pem"), 0400u);
  }
  {
    ScopedUmask u(0077);
    ASSERT_TRUE(write_file_atomic(t.path() / "cert.pem", "public", {.mode = 0644}));
    EXPECT_EQ(mode_of(t.path() / "cert.pem"), 0644u);
    ASSERT_TRUE(write_file_atomic(t.path() / "key2.pem", "secret", {.mode = 0600}));
    EXPECT_EQ(mode_of(t.path() / "key2.pem"), 0600u);
  }
  EXPECT_EQ(*read_file(t.path() / "key.pem"), "secret");
  EXPECT_EQ(entries(t.path()), 3u) << "no temp file left behind";
}

TEST(CreatedDirectories, RemembersEveryDirectoryItMadeAndRemovesThemInnermostFirst) {
  TempDir t;
  const fs::path deep = t.path() / "a" / "b" / "c";
  {
    CreatedDirectories made;
    ASSERT_TRUE(made.create(deep));
    EXPECT_TRUE(fs::is_directory(deep));
    EXPECT_EQ(mode_of(t.path() / "a"), 0755u);
    ASSERT_TRUE(made.create(t.path() / "a" / "d"));  // "a" exists now: only "d" is new
    ASSERT_TRUE(made.create(deep));                  // nothing new
    EXPECT_TRUE(made.sync());
    made.remove();
    EXPECT_FALSE(fs::exists(t.path() / "a")) << "a, a/b, a/b/c and a/d were all made here";
    EXPECT_TRUE(made.empty());
  }
  {
    // A directory that is not empty stays; what existed before is never touched.
    fs::create_directory(t.path() / "kept");
    CreatedDirectories made;
    ASSERT_TRUE(made.create(t.path() / "kept" / "x" / "y"));
    ASSERT_TRUE(write_file_atomic(t.path() / "kept" / "x" / "someone-elses", "data"));
    made.remove();
    EXPECT_FALSE(fs::exists(t.path() / "kept" / "x" / "y"));
    EXPECT_TRUE(fs::exists(t.path() / "kept" / "x" / "someone-elses"));
    EXPECT_TRUE(fs::is_directory(t.path() / "kept"));
  }
  {
    // A file where a directory should be: refused, and nothing made.
    ASSERT_TRUE(write_file_atomic(t.path() / "file", "x"));
    CreatedDirectories made;
    auto r = made.create(t.path() / "file" / "sub");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_input) << r.error().message;
    EXPECT_TRUE(made.empty());
    auto r2 = made.create(t.path() / "file");
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().code, Errc::invalid_input) << r2.error().message;
  }
  {
    // A parent nobody may write to: the error names it, and the part already made is removed.
    fs::create_directory(t.path() / "ro");
    ::chmod((t.path() / "ro").c_str(), 0555);
    CreatedDirectories made;
    auto r = made.create(t.path() / "ro" / "x");
    ::chmod((t.path() / "ro").c_str(), 0755);
    if (::geteuid() != 0) {  // root writes anyway
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, Errc::io);
      EXPECT_TRUE(made.empty());
    }
  }
}

TEST(WriteFileAtomic, RefusesPlantedSymlinkAndLeavesTargetAlone) {
  TempDir t;
  auto target = t.path() / "target";
  ASSERT_TRUE(write_file_atomic(target, "original"));
  fs::create_symlink(target, t.path() / "out.pem");
  auto r = write_file_atomic(t.path() / "out.pem", "evil");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::exists);
  EXPECT_EQ(*read_file(target), "original");
  // With overwrite, the link itself is replaced; the target is never written through.
  ASSERT_TRUE(write_file_atomic(t.path() / "out.pem", "new", {.overwrite = true}));
  EXPECT_EQ(*read_file(target), "original");
  EXPECT_FALSE(fs::is_symlink(t.path() / "out.pem"));
}

TEST(FileTransaction, AllOrNothing) {
  TempDir t;
  ASSERT_TRUE(write_file_atomic(t.path() / "b", "existing"));
  {
    FileTransaction tx;
    ASSERT_TRUE(tx.stage(t.path() / "a", "A"));
    auto r = tx.stage(t.path() / "b", "B");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::exists);
  }
  EXPECT_FALSE(fs::exists(t.path() / "a"));
  EXPECT_EQ(entries(t.path()), 1u);
  FileTransaction tx;
  ASSERT_TRUE(tx.stage(t.path() / "a", "A", {.mode = 0600}));
  ASSERT_TRUE(tx.stage(t.path() / "c", "C"));
  ASSERT_TRUE(tx.commit());
  EXPECT_EQ(*read_file(t.path() / "a"), "A");
  EXPECT_EQ(mode_of(t.path() / "a"), 0600u);
}

// A --force commit that fails half-way puts back the files it had already replaced (a CA key
// must never be lost to a failed re-run), and leaves no temp or backup file behind.
TEST(FileTransaction, FailedForcedCommitRestoresWhatItReplaced) {
  TempDir t;
  ASSERT_TRUE(write_file_atomic(t.path() / "ca-key.pem", "old key", {.mode = 0600}));
  ASSERT_TRUE(write_file_atomic(t.path() / "ca.pem", "old cert"));
  FileTransaction tx;
  ASSERT_TRUE(tx.stage(t.path() / "ca-key.pem", "new key", {.mode = 0600, .overwrite = true}));
  ASSERT_TRUE(tx.stage(t.path() / "ca.pem", "new cert", {.overwrite = true}));
  // The second rename cannot happen: a non-empty directory now stands at its name.
  fs::remove(t.path() / "ca.pem");
  fs::create_directories(t.path() / "ca.pem" / "x");
  ASSERT_FALSE(tx.commit());
  EXPECT_EQ(*read_file(t.path() / "ca-key.pem"), "old key");
  EXPECT_EQ(mode_of(t.path() / "ca-key.pem"), 0600u);
  EXPECT_TRUE(fs::is_directory(t.path() / "ca.pem"));
  EXPECT_EQ(entries(t.path()), 2u) << "no temp or backup file may be left";
}

// Transactions that must succeed or fail together share one ReplacedFiles: the originals stay
// until discard(), and restore() brings back every one of them.
TEST(FileTransaction, SharedOriginalsAreRestoredOrDiscardedTogether) {
  for (bool fail : {true, false}) {
    TempDir t;
    ASSERT_TRUE(write_file_atomic(t.path() / "1.pem", "old 1"));
    ASSERT_TRUE(write_file_atomic(t.path() / "2.pem", "old 2"));
    {
      ReplacedFiles originals;
      FileTransaction first;
      ASSERT_TRUE(first.stage(t.path() / "1.pem", "new 1", {.overwrite = true}));
      ASSERT_TRUE(first.commit(&originals));
      EXPECT_EQ(*read_file(t.path() / "1.pem"), "new 1");
      FileTransaction second;
      ASSERT_TRUE(second.stage(t.path() / "2.pem", "new 2", {.overwrite = true}));
      ASSERT_TRUE(second.commit(&originals));
      if (fail) {
        originals.restore();
      } else {
        originals.discard();
      }
    }
    EXPECT_EQ(*read_file(t.path() / "1.pem"), fail ? "old 1" : "new 1");
    EXPECT_EQ(*read_file(t.path() / "2.pem"), fail ? "old 2" : "new 2");
    EXPECT_EQ(entries(t.path()), 2u) << "no backup may be left";
  }
  // Neither restored nor discarded: the destructor restores.
  TempDir t;
  ASSERT_TRUE(write_file_atomic(t.path() / "k.pem", "old"));
  {
    ReplacedFiles originals;
    FileTransaction tx;
    ASSERT_TRUE(tx.stage(t.path() / "k.pem", "new", {.overwrite = true}));
    ASSERT_TRUE(tx.commit(&originals));
  }
  EXPECT_EQ(*read_file(t.path() / "k.pem"), "old");
}

TEST(ReadFile, MissingAndNonRegular) {
  TempDir t;
  auto missing = read_file(t.path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::file_missing);
  auto dir = read_file(t.path());
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, Errc::invalid_input);
}

TEST(SafePathComponent, Table) {
  const struct {
    const char* name;
    bool safe;
  } cases[] = {{"acme", true}, {"cell-1", true}, {"", false},    {".", false},
               {"..", false},  {"a/b", false},   {"a\nb", false}};
  for (const auto& c : cases) EXPECT_EQ(is_safe_path_component(c.name), c.safe) << c.name;
}

TEST(Secret, FileStripsNewlineAndErrorOmitsContent) {
  TempDir t;
  ASSERT_TRUE(write_file_atomic(t.path() / "pin", "1234\n", {.mode = 0600}));
  auto s = read_secret_file((t.path() / "pin").string());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->view(), "1234");
  auto missing = read_secret_file((t.path() / "missing").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
}

}  // namespace

#include "util/json.hpp"

namespace {

TEST(ParseJsonStrict, Table) {
  const struct {
    const char* text;
    bool ok;
    const char* needle;
  } cases[] = {
      {R"({"a":1,"b":[1,2,{"c":null}]})", true, ""},
      {R"({"a":1,"a":2})", false, "duplicate JSON key \"a\""},
      {R"({"x":{"a":1,"a":1}})", false, "duplicate"},
      {R"([{"a":1},{"a":2}])", true, ""},
      {R"({"a":1} x)", false, "malformed"},
      {R"({"a":)", false, "malformed"},
      {"", false, "malformed"},
  };
  for (const auto& c : cases) {
    auto r = grafos::parse_json_strict(c.text);
    EXPECT_EQ(r.has_value(), c.ok) << c.text;
    if (!r) {
      EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
    }
  }
}

TEST(ParseJsonStrict, DepthLimit) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(grafos::parse_json_strict(deep, 64));
  EXPECT_TRUE(grafos::parse_json_strict(deep, 200));
}

}  // namespace
