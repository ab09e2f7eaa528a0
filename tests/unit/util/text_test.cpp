// escape_text: every byte sequence comes out as valid UTF-8 with no control a terminal acts on.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "util/text.hpp"

namespace grafos {
namespace {

struct EscapeCase {
  const char* what;
  std::string in;
  std::string keep;    // Backslash::keep
  std::string stored;  // Backslash::escape
};

class EscapeTest : public testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTest, Table) {
  const EscapeCase& c = GetParam();
  EXPECT_EQ(escape_text(c.in, Backslash::keep), c.keep) << c.what;
  EXPECT_EQ(escape_text(c.in, Backslash::escape), c.stored) << c.what;
  // Whatever went in, the result serialises as JSON (nlohmann refuses invalid UTF-8) and holds
  // no byte below 0x20 and no DEL.
  for (const std::string& out : {escape_text(c.in), escape_text(c.in, Backslash::escape)}) {
    EXPECT_NO_THROW((void)nlohmann::json(out).dump()) << c.what;
    for (char ch : out) {
      auto b = static_cast<unsigned char>(ch);
      EXPECT_TRUE(b >= 0x20 && b != 0x7f) << c.what;
    }
  }
  EXPECT_EQ(escape_text(escape_text(c.in)), escape_text(c.in))
      << c.what << ": idempotent for display";
}

INSTANTIATE_TEST_SUITE_P(
    Table, EscapeTest,
    testing::Values(
        EscapeCase{"empty", "", "", ""},
        EscapeCase{"plain ASCII", "GET /api/v1/tenants", "GET /api/v1/tenants",
                   "GET /api/v1/tenants"},
        EscapeCase{"ESC sequence that clears a line", "/api/\x1b[2Kok", "/api/\\x1b[2Kok",
                   "/api/\\x1b[2Kok"},
        EscapeCase{"NUL", std::string("a\0b", 3), "a\\x00b", "a\\x00b"},
        EscapeCase{"TAB CR LF", "a\tb\rc\nd", "a\\x09b\\x0dc\\x0ad", "a\\x09b\\x0dc\\x0ad"},
        EscapeCase{"DEL", "a\x7f", "a\\x7f", "a\\x7f"},
        EscapeCase{"backslash", "a\\b", "a\\b", "a\\\\b"},
        EscapeCase{"a literal \\x1b cannot pass for an escaped byte once stored", "\\x1b", "\\x1b",
                   "\\\\x1b"},
        EscapeCase{"valid UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
                   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
                   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"},
        EscapeCase{"decoded %ff%fe", "/api/v1/\xff\xfe", "/api/v1/\\xff\\xfe",
                   "/api/v1/\\xff\\xfe"},
        EscapeCase{"lone continuation byte", "a\x80z", "a\\x80z", "a\\x80z"},
        EscapeCase{"truncated sequence", "a\xe2\x82", "a\\xe2\\x82", "a\\xe2\\x82"},
        EscapeCase{"truncated then ASCII", "\xe2\x82z", "\\xe2\\x82z", "\\xe2\\x82z"},
        EscapeCase{"overlong slash", "\xc0\xaf", "\\xc0\\xaf", "\\xc0\\xaf"},
        EscapeCase{"overlong 3-byte", "\xe0\x80\xaf", "\\xe0\\x80\\xaf", "\\xe0\\x80\\xaf"},
        EscapeCase{"UTF-16 surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80", "\\xed\\xa0\\x80"},
        EscapeCase{"above U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80",
                   "\\xf4\\x90\\x80\\x80"},
        EscapeCase{"U+10FFFF kept", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
        EscapeCase{"C1 CSI (U+009B)",
                   "a\xc2\x9b"
                   "2Kb",
                   "a\\xc2\\x9b2Kb", "a\\xc2\\x9b2Kb"},
        EscapeCase{"U+00A0 kept", "\xc2\xa0", "\xc2\xa0", "\xc2\xa0"},
        EscapeCase{"right-to-left override",
                   "ab\xe2\x80\xae"
                   "cd",
                   "ab\\xe2\\x80\\xaecd", "ab\\xe2\\x80\\xaecd"},
        EscapeCase{"first strong isolate", "\xe2\x81\xa8", "\\xe2\\x81\\xa8", "\\xe2\\x81\\xa8"},
        EscapeCase{"line separator", "\xe2\x80\xa8", "\\xe2\\x80\\xa8", "\\xe2\\x80\\xa8"}));

// Undoes Backslash::escape: "\\\\" is a backslash, "\\xNN" a byte.
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
    } else if (s[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    }
  }
  return out;
}

// Any byte sequence: the result is valid UTF-8 (nlohmann's strict dump accepts it) with no C0
// control or DEL, escaping for display twice changes nothing, and stored text reads back exactly.
TEST(Escape, RandomBytesAlwaysComeOutSafe) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len(0, 24), byte(0, 255);
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    for (int n = len(rng); n > 0; --n) in += static_cast<char>(byte(rng));
    for (Backslash b : {Backslash::keep, Backslash::escape}) {
      std::string out = escape_text(in, b);
      ASSERT_NO_THROW((void)nlohmann::json(out).dump()) << i;
      for (char ch : out) {
        auto u = static_cast<unsigned char>(ch);
        ASSERT_TRUE(u >= 0x20 && u != 0x7f) << i;
      }
      ASSERT_EQ(escape_text(out), out) << i;
      if (b == Backslash::escape) {
        ASSERT_EQ(unescape(out), in) << i;
      }
    }
  }
}

}  // namespace
}  // namespace grafos
