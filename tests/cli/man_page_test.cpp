// Every subcommand (nested ones too) of grafos-ca, grafos-admin and grafos-registry, and every long
// flag each one's --help shows, must be documented in the tool's man page; the list comes from the
// built tools' --help, recursively, so a command or flag added later is checked without editing
// this test. The man pages must also render within 80 columns (no table wider than the line).
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Tool {
  const char* name;  ///< "grafos-ca", also the man page's name
  const char* env;   ///< the test environment variable holding the built executable
};

const Tool kTools[] = {
    {"grafos-ca", "GRAFOS_CA"},
    {"grafos-admin", "GRAFOS_ADMIN"},
    {"grafos-registry", "GRAFOS_REGISTRY"},
};

std::string run_capture(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  *status = ::pclose(f);
  return out;
}

std::string help_of(const std::string& exe, const std::vector<std::string>& path) {
  std::string cmd = "'" + exe + "'";
  for (const auto& p : path) cmd += " " + p;  // subcommand names: [a-z0-9-] words from --help
  cmd += " --help 2>&1";
  int st = -1;
  std::string out = run_capture(cmd, &st);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << cmd;
  return out;
}

// Subcommand names listed under "Subcommands:" in CLI11's help.
std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("Subcommands:", 0) == 0 || line.rfind("SUBCOMMANDS:", 0) == 0) {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (line.empty()) break;
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
      std::istringstream words(line);
      std::string name;
      words >> name;
      out.push_back(name);
    }
  }
  return out;
}

std::string man_path(const std::string& tool) {
  const char* root = std::getenv("GRAFOS_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/man/" + tool + ".1";
}

std::string man_text(const std::string& tool) {
  std::ifstream in(man_path(tool));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  // roff writes '-' as '\-'.
  std::string plain;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\\' && i + 1 < t.size() && t[i + 1] == '-') continue;
    plain.push_back(t[i]);
  }
  return plain;
}

bool flag_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// `flag` occurs as a whole flag: "--cell" is not documented by "--cell-ca" alone.
bool documents_flag(const std::string& man, const std::string& flag) {
  for (size_t at = man.find(flag); at != std::string::npos; at = man.find(flag, at + 1)) {
    size_t end = at + flag.size();
    if (end >= man.size() || !flag_char(man[end])) return true;
  }
  return false;
}

// "tenant enable" is documented by "tenant enable" or by an alternation "tenant disable|enable".
bool documents_command(const std::string& man, const std::vector<std::string>& path) {
  std::string name;
  for (size_t i = 0; i < path.size(); ++i) name += (i ? " " : "") + path[i];
  if (man.find(name) != std::string::npos) return true;
  std::string parent;
  for (size_t i = 0; i + 1 < path.size(); ++i) parent += (i ? " " : "") + path[i];
  std::regex alt((parent.empty() ? std::string() : parent + " ") + "[a-z0-9|-]*\\|" + path.back() +
                 "([^a-z0-9-]|$)");
  return std::regex_search(man, alt);
}

class ManPage : public ::testing::TestWithParam<Tool> {};

TEST_P(ManPage, EverySubcommandAndFlagIsDocumented) {
  const Tool& tool = GetParam();
  const char* exe = std::getenv(tool.env);
  if (!exe || !*exe) GTEST_SKIP() << tool.env << " is not set (tool not built)";
  const std::string man = man_text(tool.name);
  ASSERT_FALSE(man.empty()) << man_path(tool.name) << " not found";
  std::vector<std::vector<std::string>> todo = {{}};
  std::set<std::string> visited;
  int checked_flags = 0;
  while (!todo.empty()) {
    auto path = todo.back();
    todo.pop_back();
    std::string help = help_of(exe, path);
    std::string where = tool.name;
    for (const auto& p : path) where += " " + p;
    if (!path.empty()) {
      EXPECT_TRUE(documents_command(man, path))
          << "subcommand '" << where << "' not in man/" << tool.name << ".1";
    }
    static const std::regex flag_re("--[a-z0-9][a-z0-9-]*");
    for (auto it = std::sregex_iterator(help.begin(), help.end(), flag_re);
         it != std::sregex_iterator(); ++it) {
      std::string flag = it->str();
      while (!flag.empty() && flag.back() == '-') flag.pop_back();
      ++checked_flags;
      EXPECT_TRUE(documents_flag(man, flag))
          << where << ": flag " << flag << " is not documented in man/" << tool.name << ".1";
    }
    for (const auto& s : subcommands(help)) {
      if (s == "help") continue;
      auto next = path;
      next.push_back(s);
      std::string key;
      for (auto& p : next) key += p + "/";
      if (visited.insert(key).second) todo.push_back(next);
    }
  }
  EXPECT_GE(visited.size(), 2u) << tool.name << ": too few subcommands found in --help";
  EXPECT_GT(checked_flags, 10) << tool.name;
}

TEST_P(ManPage, RendersWithin80Columns) {
  const Tool& tool = GetParam();
  int st = -1;
  run_capture("command -v groff >/dev/null 2>&1", &st);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) GTEST_SKIP() << "groff is not installed";
  // tbl warns "table wider than line width" when a table does not fit 80 columns.
  std::string cmd =
      "groff -t -man -Tutf8 -rLL=80n -P-cbou '" + man_path(tool.name) + "' 2>&1 >/dev/null";
  std::string warnings = run_capture(cmd, &st);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << cmd;
  EXPECT_EQ(warnings.find("table wider than line width"), std::string::npos)
      << "man/" << tool.name << ".1: " << warnings;
}

INSTANTIATE_TEST_SUITE_P(AllTools, ManPage, ::testing::ValuesIn(kTools),
                         [](const ::testing::TestParamInfo<Tool>& i) {
                           std::string n = i.param.name;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(GrafosCaManPage, VisitsTheCoreCommands) {
  const char* exe = std::getenv("GRAFOS_CA");
  ASSERT_TRUE(exe && *exe) << "run through meson test";
  auto subs = subcommands(help_of(exe, {}));
  for (const char* sub : {"init-ca", "issue-cert", "issue-server-cert"})
    EXPECT_NE(std::find(subs.begin(), subs.end(), sub), subs.end()) << sub;
}

TEST(GrafosCaManPage, DocumentsExitStatusesAndBatchFormat) {
  const std::string man = man_text("grafos-ca");
  for (const char* s : {".SH EXIT STATUS", ".SH BATCH FILE FORMAT", "cell <provider> <cell_id>",
                        "GRAFOS_PKCS11_PIN", ".SH CERTIFICATE PROFILES"})
    EXPECT_NE(man.find(s), std::string::npos) << s;
}

}  // namespace
