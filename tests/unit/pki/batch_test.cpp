#include <gtest/gtest.h>

#include <cstdio>

#include "pki/ceremony.hpp"

using namespace grafos;
using namespace grafos::pki;

namespace {

TEST(Batch, ParsesEveryLineForm) {
  auto r = parse_batch(
      "# ceremony 2026-11-23\n"
      "\n"
      "tenant acme\n"
      "  fabric-observer  \n"
      "fabric-admin\r\n"
      "cell aws 42\n"
      "cell\tgcp-eu\t7\n"
      "provenance-signer ami-bake\n"
      "server sched.example,10.0.0.1\n"
      "   # indented comment\n");
  ASSERT_TRUE(r) << r.error().message;
  std::vector<std::string> folders;
  for (auto& e : *r) folders.push_back(batch_folder_name(e.identity));
  EXPECT_EQ(folders, (std::vector<std::string>{
                         "tenant-acme", "fabric-observer", "fabric-admin", "cell-aws-42",
                         "cell-gcp-eu-7", "provenance-signer-ami-bake", "server-sched.example"}));
  EXPECT_EQ((*r)[0].line, 3u);
  EXPECT_EQ((*r)[3].identity.cell_id, 42u);
}

TEST(Batch, RefusesBadLinesNamingTheLine) {
  const struct {
    std::string text;
    std::string fragment;
  } cases[] = {
      {"tenant acme\ntenant ac:me\n", "line 2: invalid tenant"},
      {"cell aws 042\n", "line 1: invalid cell id"},
      {"cell AWS 1\n", "line 1: invalid provider"},
      {"cell aws\n", "expected 'cell <provider> <cell_id>'"},
      {"tenant\n", "expected 'tenant <name>'"},
      {"tenant a b\n", "found 3 fields"},
      {"fabric-admin extra\n", "expected 'fabric-admin'"},
      {"root ca\n", "unknown role 'root'"},
      {"tenant acme\ncell aws 1\ntenant acme\n", "line 3: repeats the identity of line 1"},
      {"server a.example,,b.example\n", "empty entry"},
      {"provenance-signer ../x\n", "invalid pipeline"},
      {"# only comments\n\n", "lists no identity"},
      {"", "lists no identity"},
  };
  for (const auto& c : cases) {
    auto r = parse_batch(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
}

TEST(Batch, FolderNamesStayInsideTheOutputFolder) {
  // Every identity the grammar admits maps to one safe path component.
  for (const char* t : {"a", "a.", "a..", "A_b-c.d"}) {
    auto id = make_tenant_identity(t);
    ASSERT_TRUE(id);
    std::string f = batch_folder_name(*id);
    EXPECT_EQ(f.find('/'), std::string::npos);
    EXPECT_NE(f, "..");
    EXPECT_NE(f, ".");
  }
}

// A NUL, any other control byte or DEL anywhere in a batch line (comments included) refuses the
// whole file, naming the line and the byte; a tab between fields and a CRLF line end stay valid.
TEST(Batch, RefusesControlBytesNamingLineAndByte) {
  auto nul = parse_batch(std::string("tenant acme\nserver 10.1.2.3") + '\0' +
                         ".evil.example,db.internal\n");
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code, Errc::invalid_input);
  EXPECT_NE(nul.error().message.find("batch file line 2: control byte \\x00 at column 16"),
            std::string::npos)
      << nul.error().message;
  for (unsigned b = 0; b <= 0x7f; ++b) {
    if (b >= 0x20 && b != 0x7f) continue;
    if (b == '\t' || b == '\n') continue;  // a field separator; a line end
    const char c = static_cast<char>(b);
    for (const std::string& text :
         {std::string("tenant ac") + c + "me\n", std::string("cell aws 4") + c + "2\n",
          std::string("server a.example") + c + ",b.example\n",
          std::string("fabric-admin") + c + " ", std::string("# comment ") + c + "x\ntenant acme\n",
          std::string("tenant acme") + c + "\r\n", std::string(1, c) + "tenant acme\n"}) {
      auto r = parse_batch(text);
      ASSERT_FALSE(r) << "byte " << b;
      EXPECT_EQ(r.error().code, Errc::invalid_input);
      char want[32];
      std::snprintf(want, sizeof want, "control byte \\x%02x", b);
      EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("batch file line "), std::string::npos);
    }
  }
  EXPECT_TRUE(parse_batch("tenant\tacme\r\ncell aws 1\r\n"));
  // The message stays one bounded line however long the line is.
  std::string long_line = "tenant " + std::string(5000, 'a') + '\0' + std::string(5000, 'b');
  auto bounded = parse_batch(long_line);
  ASSERT_FALSE(bounded);
  EXPECT_NE(bounded.error().message.find("control byte \\x00 at column 5008"), std::string::npos)
      << bounded.error().message.substr(0, 200);
  EXPECT_LT(bounded.error().message.size(), 300u);
}

}  // namespace
