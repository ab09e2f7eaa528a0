// Unit tests of secret handling: SecretString leaves no copy behind, environment secrets leave the
// environment, files are read without reallocating, and core dumps are off.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "tests/support/fixtures.hpp"
#include "util/file_io.hpp"
#include "util/secret.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace grafos;

namespace {

// A private temporary directory, removed on destruction (tests/support).
struct SecretTempDir : grafos::test::TempDir {
  SecretTempDir() : grafos::test::TempDir("grafos-secret") {}
};

bool environ_mentions(std::string_view needle) {
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).find(needle) != std::string_view::npos) return true;
  return false;
}

// Moving a short std::string copies its bytes out of the inline buffer and leaves them there.
TEST(SecretString, MovingAStringInCleansesTheSource) {
  const char* values[] = {"1", "123456", "123456789012345", "a-longer-secret-on-the-heap-0123"};
  for (const char* v : values) {
    std::string source(v);
    SecretString s(std::move(source));
    EXPECT_EQ(s.view(), v);
    std::string_view left(source.data(), source.capacity());
    EXPECT_EQ(left.find(v), std::string_view::npos) << v;
    EXPECT_EQ(left.find(v[0]), std::string_view::npos) << v;
  }
}

TEST(SecretString, MoveAndWipe) {
  SecretString a(std::string("246813"));
  SecretString b(std::move(a));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.view(), "246813");
  SecretString c = b.duplicate();
  b.wipe();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(c.view(), "246813");
}

TEST(SecretEnv, TakenOutOfTheEnvironmentAndKeptForLaterReads) {
  const std::string name = "GRAFOS_TEST_SECRET_ENV_" + std::to_string(::getpid());
  const struct {
    const char* value;
  } cases[] = {{"SECRETENV1"}, {"a-much-longer-SECRETENV2-value-beyond-inline"}, {""}};
  for (const auto& c : cases) {
    ASSERT_EQ(::setenv(name.c_str(), c.value, 1), 0);
    auto s = read_secret_env(name.c_str());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->view(), c.value);
    EXPECT_EQ(std::getenv(name.c_str()), nullptr) << "still in the environment";
    EXPECT_FALSE(environ_mentions(name));
    if (*c.value) {
      EXPECT_FALSE(environ_mentions(c.value));
    }
    // A second key of the same process reads it again.
    auto again = read_secret_env(name.c_str());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->view(), c.value);
  }
  auto unset = read_secret_env("GRAFOS_TEST_SECRET_ENV_NEVER_SET");
  ASSERT_FALSE(unset);
  EXPECT_EQ(unset.error().code, Errc::secret_missing);
}

TEST(SecretFile, EmptyAndLineEnds) {
  SecretTempDir t;
  const struct {
    const char* content;
    const char* secret;
  } cases[] = {{"", ""}, {"\n", ""}, {"\r\n", ""}, {"1234", "1234"}, {"1234\r\nrest", "1234"}};
  for (const auto& c : cases) {
    auto p = t.path() / "s";
    ASSERT_TRUE(write_file_atomic(p, c.content, {.mode = 0600, .overwrite = true}));
    auto s = read_secret_file(p.string());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->view(), c.secret);
  }
}

// Sizes around the inline-string limit and the old 4096-byte growth step; a file over the limit
// is refused, never silently cut.
TEST(ReadFile, SizesAndLimit) {
  SecretTempDir t;
  const struct {
    size_t size;
    size_t max;
    bool ok;
  } cases[] = {{0, 10, true},         {1, 10, true},       {15, 15, true},
               {16, 16, true},        {17, 16, false},     {4095, 1 << 20, true},
               {4096, 4096, true},    {4097, 4096, false}, {100000, 1 << 20, true},
               {100000, 99999, false}};
  for (const auto& c : cases) {
    std::string content(c.size, 'k');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
    auto p = t.path() / "f";
    ASSERT_TRUE(write_file_atomic(p, content, {.mode = 0600, .overwrite = true}));
    auto r = read_file(p, c.max);
    EXPECT_EQ(static_cast<bool>(r), c.ok) << c.size << "/" << c.max;
    if (r) {
      EXPECT_EQ(*r, content);
    } else {
      EXPECT_EQ(r.error().code, Errc::invalid_input);
      EXPECT_NE(r.error().message.find("larger than"), std::string::npos) << r.error().message;
    }
    std::string into = "old content that must go";
    auto r2 = read_file_into(p, into, c.max);
    EXPECT_EQ(static_cast<bool>(r2), c.ok);
    EXPECT_EQ(into, c.ok ? content : "");
  }
}

// In a child (the setting is for the whole process): dumping is off, the core limit is 0, and
// the process can still list its own /proc/self/fd.
TEST(CoreDumps, DisabledAndProcSelfStillReadable) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!disable_core_dumps()) ::_exit(10);
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) ::_exit(11);
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0) ::_exit(12);
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) ::_exit(13);
    int n = 0;
    while (::readdir(d)) ++n;
    ::closedir(d);
    if (n < 3) ::_exit(14);
    auto status = read_file("/proc/self/status");
    if (!status || status->find("Name:") == std::string::npos) ::_exit(15);
    ::_exit(0);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "10 disable failed, 11 still dumpable, 12 core limit, 13-15 "
                                   "/proc/self unreadable";
}

}  // namespace
