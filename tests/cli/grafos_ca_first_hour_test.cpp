// CLI tests of issue 16's grafos-ca items (a CA custodian's first hour): hints that name real
// flags, global flags shown only where they do something, every bad batch line in one run, the
// SoftHSM warning, errors that name the real cause (SOFTHSM2_CONF, a URL as a SAN), and inspect.
// The built executable (env GRAFOS_CA) runs as a user would, against real files and a private
// SoftHSMv2 token.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixtures.hpp"

extern char** environ;

namespace fs = std::filesystem;
using grafos::test::SoftHsmToken;
using grafos::test::TempDir;

namespace {

struct Proc {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv (argv[0] searched in PATH), stdin from /dev/null, stdout and stderr captured apart;
// `env` is added to this environment (a value of "\x01" removes the variable, "" sets it empty).
Proc run(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {},
         const fs::path& cwd = {}) {
  TempDir tmp("grafos-first-hour-run");
  fs::path out = tmp.path() / "out", err = tmp.path() / "err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) {
    if (v == "\x01")
      merged.erase(k);
    else
      merged[k] = v;
  }
  std::vector<std::string> envs;
  for (const auto& [k, v] : merged) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_t pid = 0;
  Proc r;
  if (posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data()) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    r.err = "spawn failed: " + argv[0];
    return r;
  }
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string grafos_ca() {
  const char* p = std::getenv("GRAFOS_CA");
  return p ? p : "grafos-ca";
}

fs::path source_root() {
  const char* p = std::getenv("GRAFOS_SOURCE_ROOT");
  return p ? p : ".";
}

Proc ca(std::vector<std::string> args, const std::map<std::string, std::string>& env = {},
        const fs::path& cwd = {}) {
  args.insert(args.begin(), grafos_ca());
  return run(std::move(args), env, cwd);
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// Every entry under `dir` (recursively), sorted; "<missing>" when it does not exist.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return {"<missing>"};
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec))
    out.push_back(it->path().lexically_relative(dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// ---- the help of every (nested) subcommand ----

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

// The long flags an option line of CLI11's help declares ("  -h,--help", "  --ca,--ca-cert FILE").
std::vector<std::string> declared_flags(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 3 || line[0] != ' ' || line[1] != ' ' || line[2] != '-') continue;
    std::istringstream words(line);
    std::string first;
    words >> first;
    std::stringstream names(first);
    for (std::string n; std::getline(names, n, ',');)
      if (n.rfind("--", 0) == 0) out.push_back(n);
  }
  return out;
}

// path -> help text of every subcommand of grafos-ca (the tool itself under {}).
std::map<std::vector<std::string>, std::string> all_help() {
  std::map<std::vector<std::string>, std::string> out;
  std::vector<std::vector<std::string>> todo = {{}};
  while (!todo.empty()) {
    auto path = todo.back();
    todo.pop_back();
    auto args = path;
    args.push_back("--help");
    Proc r = ca(args);
    EXPECT_EQ(r.status, 0) << r.err;
    out[path] = r.out;
    for (const auto& s : subcommands(r.out)) {
      if (s == "help") continue;
      auto next = path;
      next.push_back(s);
      todo.push_back(next);
    }
  }
  return out;
}

// ---- string literals of C++ sources ----

// The contents of every string literal in `text` (comments skipped; adjacent literals stay
// separate, which is how the sources write a flag: whole, inside one literal).
std::vector<std::string> string_literals(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "//") == 0) {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (text.compare(i, 2, "/*") == 0) {
      i = text.find("*/", i + 2);
      if (i == std::string::npos) break;
      i += 2;
    } else if (text[i] == '\'') {  // a char literal: '"' must not open a string
      i += text[i + 1] == '\\' ? 4 : 3;
    } else if (text[i] == '"') {
      std::string lit;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) lit.push_back(text[i++]);
        lit.push_back(text[i]);
      }
      ++i;
      out.push_back(lit);
    } else {
      ++i;
    }
  }
  return out;
}

// Every `--flag` named in a string literal of the C++ sources under `dirs` (relative to the
// source root), with the file it is in. Flags of other programs (after "pkcs11-tool",
// "softhsm2-util", "openssl ...") are skipped.
std::vector<std::pair<std::string, std::string>> flags_in_sources(
    const std::vector<std::string>& dirs) {
  static const std::regex flag_re("(^|[^A-Za-z0-9-])(--[a-z][a-z0-9-]*[a-z0-9])");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& d : dirs)
    for (const auto& e : fs::recursive_directory_iterator(source_root() / d)) {
      auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".hpp") continue;
      for (const auto& lit : string_literals(slurp(e.path()))) {
        if (contains(lit, "pkcs11-tool") || contains(lit, "softhsm2-util")) continue;
        for (auto it = std::sregex_iterator(lit.begin(), lit.end(), flag_re);
             it != std::sregex_iterator(); ++it)
          out.emplace_back((*it)[2].str(), fs::relative(e.path(), source_root()).string());
      }
    }
  return out;
}

// ---- a CA in a temporary folder ----

class FirstHour : public ::testing::Test {
 protected:
  void SetUp() override {
    Proc r = ca({"init-ca", "--out", (dir_.path() / "ca").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    ca_cert_ = (dir_.path() / "ca" / "ca.pem").string();
    ca_key_ = (dir_.path() / "ca" / "ca-key.pem").string();
  }
  std::string out(const std::string& name) const { return (dir_.path() / name).string(); }

  TempDir dir_{"grafos-first-hour"};
  std::string ca_cert_, ca_key_;
};

}  // namespace

// Item 1: every `--flag` that grafos-ca's own sources (commands, shared tool code) put in a
// message, a hint or a help text is a flag grafos-ca has; the libraries it calls (pki/,
// provenance/, util/, hsm/) name no flag at all: the tool adds flag names.
TEST(FirstHourHints, EveryFlagNamedByGrafosCaExists) {
  std::set<std::string> known = {"--fabric", "--wide", "--no-color", "--pool"};  // hidden ones
  for (const auto& [path, help] : all_help())
    for (const auto& f : declared_flags(help)) known.insert(f);
  ASSERT_GT(known.size(), 30u);
  auto named = flags_in_sources({"tools/grafos-ca", "tools/common"});
  ASSERT_GT(named.size(), 50u) << "the source scan found too few flags";
  for (const auto& [flag, file] : named)
    EXPECT_TRUE(known.count(flag))
        << file << " names " << flag << ", which grafos-ca does not have";
  for (const auto& [flag, file] : flags_in_sources({"pki", "provenance", "util", "hsm"}))
    ADD_FAILURE() << file << ": a library message names the CLI flag " << flag
                  << " (name the input in words; the tool adds its flag)";
}

// The scanner itself: a literal naming a flag is found, a comment is not.
TEST(FirstHourHints, ScannerFindsFlagsInLiteralsOnly) {
  auto lits = string_literals(
      "// \"--in-comment\"\nauto s = \"use --force\"; char c = '\"'; /* \"--no\" */ \"x\\\"--y\"");
  ASSERT_EQ(lits.size(), 2u);
  EXPECT_EQ(lits[0], "use --force");
  EXPECT_EQ(lits[1], "x\\\"--y");
}

// The encrypted CA key's refusal names no flag grafos-ca lacks (it had "--passphrase-file").
TEST_F(FirstHour, EncryptedCaKeyHintNamesOnlyRealThings) {
  Proc init = ca({"init-ca", "--out", out("enc")}, {{"GRAFOS_KEY_PASSPHRASE", "correct horse"}});
  ASSERT_EQ(init.status, 0) << init.err;
  Proc r = ca({"issue-cert", "--ca-cert", out("enc") + "/ca.pem", "--ca-key",
               out("enc") + "/ca-key.pem", "--tenant", "acme", "--out", out("acme")},
              {{"GRAFOS_KEY_PASSPHRASE", "\x01"}});
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_TRUE(contains(r.err, "GRAFOS_KEY_PASSPHRASE")) << r.err;
  EXPECT_FALSE(contains(r.err, "--passphrase-file")) << r.err;
  EXPECT_FALSE(contains(r.err, "passphrase file")) << "grafos-ca has no such option: " << r.err;
  EXPECT_EQ(listing(out("acme")), std::vector<std::string>{"<missing>"});
}

// Existing outputs: one hint, naming the flag of the tool (library messages name none).
TEST_F(FirstHour, ExistingOutputHasOneForceHint) {
  Proc r = ca({"init-ca", "--out", out("ca")});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  auto first = r.err.find("--force");
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--force", first + 1), std::string::npos) << "doubled hint: " << r.err;
}

// Item 3: offline commands show --json and not --fabric/--pool/--wide/--no-color; those are
// still accepted (scripts written from the seed keep working) with a note that they do nothing.
TEST_F(FirstHour, GlobalFlagsOnlyWhereTheyDoSomething) {
  for (const auto& [path, help] : all_help()) {
    std::string where = "grafos-ca";
    for (const auto& p : path) where += " " + p;
    auto flags = declared_flags(help);
    for (const char* f : {"--fabric", "--pool", "--wide", "--no-color"})
      EXPECT_EQ(std::count(flags.begin(), flags.end(), f), 0) << where << " shows " << f;
  }
  Proc r = ca({"issue-cert", "--ca-cert", ca_cert_, "--ca-key", ca_key_, "--tenant", "acme",
               "--out", out("acme"), "--wide", "--pool", "gpu", "--fabric", "h:1"});
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* f : {"--wide", "--pool", "--fabric"})
    EXPECT_TRUE(contains(r.err, std::string("note: ") + f + " has no effect")) << r.err;
  // GRAFOS_FABRIC, set fleet-wide, is not read by an offline command: no note.
  Proc quiet = ca({"issue-cert", "--ca-cert", ca_cert_, "--ca-key", ca_key_, "--tenant", "beta",
                   "--out", out("beta")},
                  {{"GRAFOS_FABRIC", "h:1"}});
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

// Item 2: each command's one-line summary is right for it, and capitalised.
TEST(FirstHourHelp, SummariesAreRightAndCapitalised) {
  Proc r = ca({"--help"});
  ASSERT_EQ(r.status, 0);
  EXPECT_FALSE(contains(r.out, "Issue a client certificate for a tenant")) << r.out;
  EXPECT_TRUE(contains(r.out, "fabric-observer, fabric-admin, cell or provenance-signer"));
  EXPECT_FALSE(contains(r.out, "image provenance record builder"));
  std::istringstream in(r.out.substr(r.out.find("Subcommands:")));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && !line.empty()) {
    if (line.size() < 3 || line[2] == ' ') continue;
    auto text = line.find_first_not_of(' ', line.find(' ', 2));
    ASSERT_NE(text, std::string::npos) << line;
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(line[text]))) << line;
  }
}

// Item 6: a batch file with several bad lines is refused once, naming every bad line with its
// number and rule; nothing is issued and the ledger is unchanged.
TEST_F(FirstHour, BatchReportsEveryBadLine) {
  const fs::path batch = dir_.path() / "batch.txt";
  std::ofstream(batch) << "tenant acme\nbogus x\ntenant\n# comment\ncell AWS 1\ntenant acme\n"
                          "server https://x.example\n";
  const std::string ledger_before = slurp(dir_.path() / "ca" / "ca-ledger.db");
  Proc r = ca({"issue-cert", "--ca-cert", ca_cert_, "--ca-key", ca_key_, "--batch", batch.string(),
               "--out", out("batch")});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_TRUE(contains(r.err, "5 bad lines, nothing issued")) << r.err;
  for (const char* part :
       {"line 2: unknown role 'bogus'", "line 3: expected 'tenant <name>', found 1 field",
        "line 5: invalid provider 'AWS'", "line 6: repeats the identity of line 1",
        "line 7: invalid SAN 'https://x.example': a URL"})
    EXPECT_TRUE(contains(r.err, part)) << part << " missing from " << r.err;
  EXPECT_FALSE(contains(r.err, "line 1:")) << r.err;
  EXPECT_FALSE(contains(r.err, "line 4:")) << r.err;
  EXPECT_EQ(listing(out("batch")), std::vector<std::string>{"<missing>"});
  EXPECT_EQ(slurp(dir_.path() / "ca" / "ca-ledger.db"), ledger_before);
}

// Item 2: a URL or a host:port given as a SAN says what it is and what to give instead.
TEST_F(FirstHour, SanErrorsNameTheRealCause) {
  struct Case {
    const char* san;
    const char* says;
  } cases[] = {
      {"https://x.example",
       "a URL, not a host name or IP address (give the host alone, e.g. "
       "'x.example')"},
      {"x.example:8443",
       "a host with a port (a certificate names hosts, not ports: give "
       "'x.example' alone)"},
      {"fe80::1%eth0", "not a valid IPv6 address"},
  };
  for (const auto& c : cases) {
    Proc r = ca({"issue-server-cert", "--ca-cert", ca_cert_, "--ca-key", ca_key_, "--san", c.san,
                 "--out", out("srv")});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_TRUE(contains(r.err, c.says)) << r.err;
    if (!contains(c.san, "::")) {
      EXPECT_FALSE(contains(r.err, "IPv6")) << c.san << " was called an IPv6 address: " << r.err;
    }
    EXPECT_EQ(listing(out("srv")), std::vector<std::string>{"<missing>"});
  }
}

// ---- SoftHSM ----

class FirstHourSoftHsm : public ::testing::Test {
 protected:
  void SetUp() override {
    Proc r = ca({"init-ca", "--out", out("ca"), "--key", hsm_.uri("ca-key")});
    ASSERT_EQ(r.status, 0) << r.err;
    init_err_ = r.err;
  }
  std::string out(const std::string& name) const { return (dir_.path() / name).string(); }

  TempDir dir_{"grafos-first-hour-p11"};
  SoftHsmToken hsm_{"fabric-ca", "246813"};
  std::string init_err_;
};

constexpr const char* kSoftHsmWarning =
    "grafos-ca: warning: the CA key is in SoftHSM, whose file store is not crash-safe";

// Item 7: one warning line when the CA key is in SoftHSM (told by the module's C_GetInfo), at
// init-ca and whenever the key is used; none for a key file.
TEST_F(FirstHourSoftHsm, WarnsThatSoftHsmIsNotCrashSafe) {
  EXPECT_TRUE(contains(init_err_, kSoftHsmWarning)) << init_err_;
  EXPECT_TRUE(contains(init_err_, "use a real HSM or a TPM for a production CA")) << init_err_;
  Proc r = ca({"issue-cert", "--ca-cert", out("ca") + "/ca.pem", "--ca-key", hsm_.uri("ca-key"),
               "--tenant", "acme", "--out", out("acme")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind(kSoftHsmWarning, 0), 0u) << r.err;
  // A file key: no warning.
  Proc f = ca({"init-ca", "--out", out("file-ca")});
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_FALSE(contains(f.err, "SoftHSM")) << f.err;
  Proc fi = ca({"issue-cert", "--ca-cert", out("file-ca") + "/ca.pem", "--ca-key",
                out("file-ca") + "/ca-key.pem", "--tenant", "acme", "--out", out("acme-file")});
  ASSERT_EQ(fi.status, 0) << fi.err;
  EXPECT_EQ(fi.err, "");
}

// Item 2: SOFTHSM2_CONF set but empty (or naming no file) says so, not a DSO/engine chain.
TEST_F(FirstHourSoftHsm, BrokenSoftHsmConfNamesTheCause) {
  const std::string cmd_out = out("acme");
  for (const auto& [value, says] : std::vector<std::pair<std::string, std::string>>{
           {"", "SOFTHSM2_CONF is set but empty"},
           {out("nowhere.conf"),
            "SOFTHSM2_CONF names '" + out("nowhere.conf") + "', which does not exist"}}) {
    Proc r = ca({"issue-cert", "--ca-cert", out("ca") + "/ca.pem", "--ca-key", hsm_.uri("ca-key"),
                 "--tenant", "acme", "--out", cmd_out},
                {{"SOFTHSM2_CONF", value}});
    EXPECT_EQ(r.status, 5) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(contains(r.err, says)) << r.err;
    EXPECT_TRUE(contains(r.err, "point SOFTHSM2_CONF at a softhsm2.conf")) << r.err;
    EXPECT_FALSE(contains(r.err, "DSO")) << r.err;
    EXPECT_FALSE(contains(r.err, "engine")) << r.err;
    EXPECT_EQ(listing(cmd_out), std::vector<std::string>{"<missing>"});
  }
}

// Item 2: a second key of the same name in the token: "2 objects" (its private and public half),
// one hint naming --replace-key, and not --force (which does not replace a token object).
TEST_F(FirstHourSoftHsm, ExistingTokenKeyHasOneHint) {
  Proc r = ca({"init-ca", "--out", out("ca2"), "--key", hsm_.uri("ca-key")});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "already holds 2 objects with this label/id")) << r.err;
  EXPECT_FALSE(contains(r.err, "--force")) << r.err;
  EXPECT_FALSE(contains(r.err, "(s)")) << r.err;
  auto first = r.err.find("--replace-key");
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--replace-key", first + 1), std::string::npos) << r.err;
  EXPECT_FALSE(contains(r.err, "explicitly")) << r.err;
  EXPECT_EQ(listing(out("ca2")), std::vector<std::string>{"<missing>"});
}
