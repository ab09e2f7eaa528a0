// The grafos-admin command line without a server: --help answers, usage errors exit 2 before any
// connection is attempted, the bearer token never reaches an error line.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/e2e/harness.hpp"

namespace grafos::e2e {
namespace {

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

ProcResult admin(std::vector<std::string> args, EnvOverrides env = {}) {
  args.insert(args.begin(), tool_path("GRAFOS_ADMIN"));
  return run(args, env);
}

// Port 1 on loopback: nothing listens, so a connection attempt would exit 10, not 2.
// --ca names an existing regular file (never parsed in these cases).
std::vector<std::string> with_conn(std::vector<std::string> args) {
  args.insert(args.end(), {"--scheduler", "https://127.0.0.1:1", "--ca", "/etc/hostname"});
  return args;
}

TEST(AdminCli, HelpListsCommandsExitStatusesAndFlags) {
  ASSERT_FALSE(tool_path("GRAFOS_ADMIN").empty()) << "run through meson test";
  auto r = admin({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* c : {"create-tenant", "list-tenants", "set-quota", "delete-tenant",
                        "audit-query", "list-fenced-leases", "unfence-lease", "Exit status"})
    EXPECT_TRUE(has(r.out, c)) << c;
  struct Sub {
    std::string cmd;
    std::vector<std::string> flags;
  };
  const Sub subs[] = {
      {"create-tenant",
       {"--name", "--quota-mem", "GRAFOS_SCHEDULER", "GRAFOS_CERT", "GRAFOS_KEY", "GRAFOS_CA",
        "GRAFOS_BEARER", "--bearer-file", "--timeout", "--json", "--wide", "--no-color", "--pool",
        "GRAFOS_FABRIC"}},
      {"list-tenants", {"--scheduler", "--cert", "--key", "--ca", "--bearer"}},
      {"set-quota", {"--tenant", "--mem", "--cpu", "--force", "quota_below_usage"}},
      {"delete-tenant", {"--name", "--yes", "--force", "tenant_has_active_leases"}},
      {"audit-query",
       {"--kind", "--tenant-id", "--principal", "--outcome", "--since", "--until", "--skip",
        "--limit", "--all", "admission"}},
      {"list-fenced-leases", {"--all", "fence_reason"}},
      {"unfence-lease", {"--lease-id", "--yes", "0x"}},
  };
  for (const auto& s : subs) {
    auto h = admin({s.cmd, "--help"});
    EXPECT_EQ(h.status, 0) << s.cmd;
    for (const auto& f : s.flags) EXPECT_TRUE(has(h.out, f)) << s.cmd << " lacks " << f;
  }
}

TEST(AdminCli, UsageErrorsExit2WithoutConnecting) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const Case cases[] = {
      {{"list-tenants"}, "--scheduler"},
      {{"create-tenant", "--scheduler", "https://127.0.0.1:1", "--ca", "/etc/hostname"}, "--name"},
      {with_conn({"unfence-lease", "--lease-id", "xyz", "--yes"}), "hex"},
      {with_conn({"unfence-lease", "--lease-id", "0x12345678901234567", "--yes"}), "hex"},
      {with_conn({"audit-query", "--kind", "bogus"}), "bogus"},
      {with_conn({"audit-query", "--outcome", "bogus"}), "bogus"},
      {with_conn({"audit-query", "--outcome", "allowed", "--outcome", "Denied"}), "Denied"},
      {with_conn({"set-quota", "--tenant", "acme"}), "changes nothing"},
      {with_conn({"audit-query", "--since", "10", "--until", "5"}), "--since"},
      {with_conn({"audit-query", "--limit", "-1"}), "--limit"},
      {with_conn({"audit-query", "--skip", "-5"}), "--skip"},
      {with_conn({"audit-query", "--tenant-id", "x"}), "--tenant-id"},
      {with_conn({"list-tenants", "--timeout", "0"}), "--timeout"},
      {{"list-tenants", "--scheduler", "http://127.0.0.1:1", "--ca", "/etc/hostname"}, "https://"},
      {{"list-tenants", "--scheduler", "127.0.0.1:1", "--ca", "/etc/hostname"}, "no scheme"},
      {{"list-tenants", "--scheduler", "https://127.0.0.1:1"}, "--ca"},
      {with_conn({"list-tenants", "--cert", "/etc/hostname"}), "--cert was given without --key"},
      {with_conn({"delete-tenant", "--name", "acme"}), "pass --yes"},
      {with_conn({"unfence-lease", "--lease-id", "0x1"}), "pass --yes"},
      {with_conn({"list-tenants", "--bearer", "a", "--bearer-file", "/etc/hostname"}), "not both"},
      {{"frobnicate"}, ""},
  };
  for (const auto& c : cases) {
    auto r = admin(c.args);
    std::string joined;
    for (auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.status, 2) << joined << "\n" << r.err;
    EXPECT_TRUE(has(r.err, c.want)) << joined << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(AdminCli, MissingLocalFilesExit6) {
  auto r =
      admin({"list-tenants", "--scheduler", "https://127.0.0.1:1", "--ca", "/nonexistent/ca.pem"});
  EXPECT_EQ(r.status, 6) << r.err;
  EXPECT_TRUE(has(r.err, "/nonexistent/ca.pem")) << r.err;
  auto b = admin(with_conn({"list-tenants", "--bearer-file", "/nonexistent/token"}));
  EXPECT_EQ(b.status, 6) << b.err;
}

TEST(AdminCli, BearerNeverInErrors) {
  TempDir d;
  auto f = (d.path() / "tok").string();
  std::ofstream(f) << "file-token-0123456789\n";
  auto r1 = admin({"list-tenants", "--scheduler", "https://127.0.0.1:1", "--ca", "/etc/hostname",
                   "--bearer-file", f});
  auto r2 = admin({"list-tenants", "--scheduler", "https://127.0.0.1:1", "--ca", "/etc/hostname"},
                  {{"GRAFOS_BEARER", "env-token-0123456789"}});
  auto r3 = admin({"list-tenants", "--scheduler", "http://127.0.0.1:1", "--ca", "/etc/hostname",
                   "--bearer", "argv-token-0123456789"});
  for (const auto* r : {&r1, &r2, &r3}) {
    EXPECT_NE(r->status, 0);
    EXPECT_FALSE(has(r->err, "0123456789")) << r->err;
    EXPECT_EQ(std::count(r->err.begin(), r->err.end(), '\n'), 1) << r->err;
  }
}

}  // namespace
}  // namespace grafos::e2e
