// Every grafos-ca subcommand (nested ones too) and every long flag its --help shows must be
// documented in man/grafos-ca.1.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string help_of(const std::vector<std::string>& path) {
  const char* exe = std::getenv("GRAFOS_CA");
  std::string cmd = std::string(exe ? exe : "grafos-ca");
  for (const auto& p : path) cmd += " " + p;  // fixed, known-safe words
  cmd += " --help 2>&1";
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
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

std::string man_text() {
  const char* root = std::getenv("GRAFOS_SOURCE_ROOT");
  std::ifstream in(std::string(root ? root : ".") + "/man/grafos-ca.1");
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

TEST(ManPage, EverySubcommandAndFlagIsDocumented) {
  const std::string man = man_text();
  ASSERT_FALSE(man.empty()) << "man/grafos-ca.1 not found";
  std::vector<std::vector<std::string>> todo = {{}};
  std::set<std::string> visited;
  int checked_flags = 0;
  while (!todo.empty()) {
    auto path = todo.back();
    todo.pop_back();
    std::string help = help_of(path);
    std::string where = "grafos-ca";
    for (const auto& p : path) where += " " + p;
    if (!path.empty()) {
      std::string name;
      for (size_t i = 0; i < path.size(); ++i) name += (i ? " " : "") + path[i];
      EXPECT_NE(man.find(name), std::string::npos) << "subcommand '" << name << "' not in man page";
    }
    static const std::regex flag_re("--[a-z0-9][a-z0-9-]*");
    for (auto it = std::sregex_iterator(help.begin(), help.end(), flag_re);
         it != std::sregex_iterator(); ++it) {
      std::string flag = it->str();
      while (!flag.empty() && flag.back() == '-') flag.pop_back();
      ++checked_flags;
      EXPECT_NE(man.find(flag), std::string::npos)
          << where << ": flag " << flag << " is not documented in man/grafos-ca.1";
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
  EXPECT_GE(visited.size(), 3u) << "init-ca, issue-cert and issue-server-cert at least";
  EXPECT_GT(checked_flags, 20);
  for (const char* sub : {"init-ca/", "issue-cert/", "issue-server-cert/"})
    EXPECT_TRUE(visited.count(sub)) << sub;
}

TEST(ManPage, DocumentsExitStatusesAndBatchFormat) {
  const std::string man = man_text();
  for (const char* s : {".SH EXIT STATUS", ".SH BATCH FILE FORMAT", "cell <provider> <cell_id>",
                        "GRAFOS_PKCS11_PIN", ".SH CERTIFICATE PROFILES"})
    EXPECT_NE(man.find(s), std::string::npos) << s;
}

}  // namespace
