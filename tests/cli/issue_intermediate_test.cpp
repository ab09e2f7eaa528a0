// CLI tests of grafos-ca issue-intermediate: the built executable (env GRAFOS_CA) against real
// files, real openssl and a private SoftHSMv2 token. Every refusal checks the error, the exit
// status and that nothing was written (no certificate, no key file, no token object).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/fixtures.hpp"

namespace fs = std::filesystem;
using grafos::test::CommandResult;
using grafos::test::run_command;
using grafos::test::SoftHsmToken;
using grafos::test::TempDir;

namespace {

std::string grafos_ca() {
  const char* p = std::getenv("GRAFOS_CA");
  return p ? p : "grafos-ca";
}

CommandResult ca(std::vector<std::string> args,
                 const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), grafos_ca());
  return run_command(args, env);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {"<missing>"};
  for (auto& e : fs::recursive_directory_iterator(dir))
    out.push_back(e.path().lexically_relative(dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// A root CA with a file key in <dir>/ca.
fs::path make_root(const fs::path& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"init-ca", "--out", (dir / "ca").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = ca(args);
  EXPECT_EQ(r.status, 0) << r.output;
  return dir / "ca";
}

TEST(IssueIntermediate, FileKeysVerifyWithOpenssl) {
  TempDir t;
  fs::path root = make_root(t.path());
  fs::path out = t.path() / "enroll";
  auto r = ca({"issue-intermediate", "--ca-cert", (root / "ca.pem").string(), "--ca-key",
               (root / "ca-key.pem").string(), "--out", out.string(), "--json"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "intermediate.pem"));
  struct stat st {};
  ASSERT_EQ(::stat((out / "intermediate-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto v = run_command({"openssl", "verify", "-CAfile", (root / "ca.pem").string(),
                        (out / "intermediate.pem").string()});
  EXPECT_EQ(v.status, 0) << v.output;
  auto text = run_command(
      {"openssl", "x509", "-noout", "-text", "-in", (out / "intermediate.pem").string()});
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.output.find("CA:TRUE, pathlen:0"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Certificate Sign, CRL Sign"), std::string::npos);
  EXPECT_NE(text.output.find("TLS Web Client Authentication"), std::string::npos);
  EXPECT_EQ(text.output.find("TLS Web Server Authentication"), std::string::npos);
  EXPECT_NE(text.output.find("URI:urn:fabricbios:enrollment-intermediate"), std::string::npos);
  EXPECT_NE(text.output.find("CN = fabricBIOS Enrollment Intermediate CA"), std::string::npos);
  // The key file is the certificate's key.
  auto a = run_command(
      {"openssl", "x509", "-noout", "-pubkey", "-in", (out / "intermediate.pem").string()});
  auto b =
      run_command({"openssl", "pkey", "-pubout", "-in", (out / "intermediate-key.pem").string()});
  EXPECT_EQ(a.output, b.output);
  // Recorded in the root's ledger and transcript.
  auto l = ca(
      {"list-certs", "--ca-cert", (root / "ca.pem").string(), "--role", "intermediate", "--json"});
  ASSERT_EQ(l.status, 0) << l.output;
  EXPECT_NE(l.output.find("fabricBIOS Enrollment Intermediate CA"), std::string::npos) << l.output;
  EXPECT_NE(l.output.find("\"issued\""), std::string::npos) << l.output;
  auto tv = ca({"transcript", "verify", "--ca", (root / "ca.pem").string()});
  EXPECT_EQ(tv.status, 0) << tv.output;
  // Default validity: 365 days.
  auto end = run_command({"openssl", "x509", "-noout", "-checkend", std::to_string(364 * 86400),
                          "-in", (out / "intermediate.pem").string()});
  EXPECT_EQ(end.status, 0);
  end = run_command({"openssl", "x509", "-noout", "-checkend", std::to_string(366 * 86400), "-in",
                     (out / "intermediate.pem").string()});
  EXPECT_NE(end.status, 0);
}

TEST(IssueIntermediate, ExistingOutputNeedsForceAndAnExistingKeyIsReused) {
  TempDir t;
  fs::path root = make_root(t.path());
  fs::path out = t.path() / "enroll";
  std::vector<std::string> args = {"issue-intermediate",
                                   "--ca-cert",
                                   (root / "ca.pem").string(),
                                   "--ca-key",
                                   (root / "ca-key.pem").string(),
                                   "--out",
                                   out.string()};
  ASSERT_EQ(ca(args).status, 0);
  const std::string cert = slurp(out / "intermediate.pem");
  const std::string key = slurp(out / "intermediate-key.pem");
  auto r = ca(args);
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("intermediate.pem"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(out / "intermediate.pem"), cert);
  args.push_back("--force");
  r = ca(args);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(slurp(out / "intermediate.pem"), cert);
  EXPECT_EQ(slurp(out / "intermediate-key.pem"), key) << "the key is never replaced";
}

TEST(IssueIntermediate, RefusalsWriteNothing) {
  TempDir t;
  fs::path root = make_root(t.path(), {"--days", "30"});
  fs::path out = t.path() / "enroll";
  auto base = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = {"issue-intermediate", "--out", out.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<std::string> root_args = {"--ca-cert", (root / "ca.pem").string(), "--ca-key",
                                              (root / "ca-key.pem").string()};
  auto with_root = [&](std::vector<std::string> extra) {
    auto a = base(root_args);
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // A leaf as --ca-cert.
  auto leaf = ca({"issue-cert", "--ca-cert", (root / "ca.pem").string(), "--ca-key",
                  (root / "ca-key.pem").string(), "--tenant", "acme", "--days", "10", "--out",
                  (t.path() / "leaf").string()});
  ASSERT_EQ(leaf.status, 0) << leaf.output;
  const auto before_root = listing(root);
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string needle;
  } cases[] = {
      {base({"--ca-cert", (t.path() / "leaf" / "client.pem").string(), "--ca-key",
             (t.path() / "leaf" / "client-key.pem").string()}),
       3, "is not a CA certificate"},
      {with_root({"--days", "31"}), 3, "outlive the CA certificate"},
      {with_root({"--days", "0"}), 2, "--days"},
      {base({"--ca-cert", (root / "ca.pem").string(), "--ca-key",
             (t.path() / "leaf" / "client-key.pem").string(), "--days", "10"}),
       5, "does not match"},
      {base({"--ca-cert", (t.path() / "nope.pem").string(), "--ca-key",
             (root / "ca-key.pem").string()}),
       6, "nope.pem"},
      {with_root({"--days", "10", "--ledger", (t.path() / "no-such-dir" / "ledger.db").string()}),
       6, "ledger"},
  };
  for (const auto& c : cases) {
    auto r = ca(c.args);
    EXPECT_EQ(r.status, c.status) << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("\n", r.output.find("error:")), r.output.size() - 1)
        << "one line: " << r.output;
    EXPECT_EQ(listing(out), std::vector<std::string>{"<missing>"}) << r.output;
  }
  EXPECT_EQ(listing(root), before_root);
  // An existing intermediate key that is not EC: refused, and the key file left as it was.
  fs::path rsa = t.path() / "rsa.pem";
  ASSERT_EQ(run_command({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                         "rsa_keygen_bits:2048", "-out", rsa.string()})
                .status,
            0);
  ::chmod(rsa.c_str(), 0600);
  const std::string rsa_before = slurp(rsa);
  auto rr = ca(with_root({"--days", "10", "--key", rsa.string()}));
  EXPECT_EQ(rr.status, 5) << rr.output;
  EXPECT_NE(rr.output.find("is RSA 2048; a CA key must be EC"), std::string::npos) << rr.output;
  EXPECT_EQ(slurp(rsa), rsa_before);
  EXPECT_EQ(listing(out), std::vector<std::string>{"<missing>"});
  // A root with pathLen 0 may not have an intermediate.
  fs::path flat = t.path() / "flat";
  ASSERT_EQ(ca({"init-ca", "--out", flat.string(), "--path-len", "0"}).status, 0);
  auto r = ca(
      base({"--ca-cert", (flat / "ca.pem").string(), "--ca-key", (flat / "ca-key.pem").string()}));
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("pathLenConstraint 0"), std::string::npos) << r.output;
  EXPECT_EQ(listing(out), std::vector<std::string>{"<missing>"});
}

TEST(IssueIntermediate, KeyInASoftHsmToken) {
  TempDir t;
  SoftHsmToken hsm("registry", "1234");
  fs::path root = make_root(t.path());
  fs::path out = t.path() / "enroll";
  const std::string uri = hsm.uri("enroll-ca");
  std::vector<std::string> args = {"issue-intermediate",
                                   "--ca-cert",
                                   (root / "ca.pem").string(),
                                   "--ca-key",
                                   (root / "ca-key.pem").string(),
                                   "--key",
                                   uri,
                                   "--out",
                                   out.string()};
  auto r = ca(args, hsm.env());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(listing(out), std::vector<std::string>{"intermediate.pem"});
  EXPECT_NE(r.output.find("intermediate key: pkcs11:"), std::string::npos) << r.output;
  auto v = run_command({"openssl", "verify", "-CAfile", (root / "ca.pem").string(),
                        (out / "intermediate.pem").string()});
  EXPECT_EQ(v.status, 0) << v.output;
  // Renewal over the same token key: same public key.
  const std::string first = slurp(out / "intermediate.pem");
  args.push_back("--force");
  r = ca(args, hsm.env());
  ASSERT_EQ(r.status, 0) << r.output;
  auto pub = [&](const std::string& pem) {
    fs::path f = t.path() / "p.pem";
    std::ofstream(f) << pem;
    return run_command({"openssl", "x509", "-noout", "-pubkey", "-in", f.string()}).output;
  };
  EXPECT_NE(slurp(out / "intermediate.pem"), first);
  EXPECT_EQ(pub(slurp(out / "intermediate.pem")), pub(first));
  // A refusal after the key was made in the token takes the key back out of it.
  fs::path out2 = t.path() / "enroll2";
  const std::string uri2 = hsm.uri("enroll-ca-2");
  r = ca({"issue-intermediate", "--ca-cert", (root / "ca.pem").string(), "--ca-key",
          (root / "ca-key.pem").string(), "--key", uri2, "--out", out2.string(), "--ledger",
          (t.path() / "no-such-dir" / "l.db").string()},
         hsm.env());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("removed again"), std::string::npos) << r.output;
  EXPECT_EQ(listing(out2), std::vector<std::string>{"<missing>"});
  // ... so the same name can be created afresh.
  r = ca({"issue-intermediate", "--ca-cert", (root / "ca.pem").string(), "--ca-key",
          (root / "ca-key.pem").string(), "--key", uri2, "--out", out2.string()},
         hsm.env());
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(IssueIntermediate, HelpNamesEveryFlag) {
  auto r = ca({"issue-intermediate", "--help"});
  ASSERT_EQ(r.status, 0);
  for (const char* f : {"--ca-cert", "--ca-key", "--key", "--out", "--days", "--force", "--ledger"})
    EXPECT_NE(r.output.find(f), std::string::npos) << f;
}

}  // namespace
