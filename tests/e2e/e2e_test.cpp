// grafos-admin against a real grafos-registry on loopback, certificates from grafos-ca: every
// command's success path and refusal, the role matrix through the client, output modes,
// confirmation, transport failures and the orchestrator fan-out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "admin/client.hpp"
#include "tests/e2e/harness.hpp"

namespace grafos::e2e {
namespace {

using nlohmann::json;

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

class AdminE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    if (tool_path("GRAFOS_REGISTRY").empty() || tool_path("GRAFOS_ADMIN").empty()) {
      skip_ = "waiting for registry: grafos-registry is not built";
      return;
    }
    pki_ = new Pki(Pki::make(dir_->path() / "pki"));
    if (!pki_->error.empty()) skip_ = "waiting for grafos-ca: " + pki_->error;
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    work_ = std::make_unique<TempDir>();
  }

  /// Starts a registry (cell mode, mTLS unless `extra` says otherwise) with a fresh database.
  Registry& start(std::vector<std::string> extra = {}) {
    regs_.push_back(std::make_unique<Registry>());
    std::string err;
    auto sub = work_->path() / ("reg" + std::to_string(regs_.size()));
    if (!regs_.back()->start(*pki_, sub, extra, &err)) ADD_FAILURE() << err;
    return *regs_.back();
  }

  /// Runs grafos-admin `cmd` against `reg` as `id` (nullptr: no client certificate).
  ProcResult admin(const Registry& reg, const Identity* id, const std::string& cmd,
                   std::vector<std::string> args = {}, EnvOverrides env = {},
                   const std::string& ca = "") {
    std::vector<std::string> argv{
        tool_path("GRAFOS_ADMIN"),      cmd, "--scheduler", reg.url(), "--ca",
        ca.empty() ? pki_->ca_cert : ca};
    if (id) argv.insert(argv.end(), {"--cert", id->cert, "--key", id->key});
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, env);
  }

  /// A library client (for setting up leases and fences the CLI has no command for).
  admin::Client client(const Registry& reg, const Identity& id) {
    admin::ClientOptions o;
    o.scheduler = reg.url();
    o.ca = pki_->ca_cert;
    o.cert = id.cert;
    o.key = id.key;
    auto c = admin::Client::open(std::move(o));
    if (!c) {
      ADD_FAILURE() << c.error().message;
      std::abort();
    }
    return std::move(*c);
  }

  std::string mint_lease(const Registry& reg, const std::string& tenant, const Identity& as,
                         std::uint64_t mem) {
    auto c = client(reg, as);
    auto r = c.call("POST", "/tenants/" + tenant + "/leases", "mint", {},
                    json{{"mem", mem}, {"cpu", 0}, {"ttl_seconds", 3600}});
    if (!r) {
      ADD_FAILURE() << r.error().message;
      return "";
    }
    return r->json.value("lease_id", "");
  }

  void fence(const Registry& reg, const std::string& lease) {
    auto c = client(reg, pki_->admin);
    auto r = c.call("POST", "/admin/leases/" + lease + "/fence", "fence", {},
                    json{{"reason", "fenced"}});
    ASSERT_TRUE(r) << r.error().message;
  }

  json tenants_json(const Registry& reg) {
    auto r = admin(reg, &pki_->admin, "list-tenants", {"--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  json find_tenant(const Registry& reg, const std::string& name) {
    for (auto& t : tenants_json(reg).value("tenants", json::array()))
      if (t.value("name", "") == name) return t;
    return nullptr;
  }

  void create(const Registry& reg, const std::string& name, const std::string& quota = "0") {
    auto r = admin(reg, &pki_->admin, "create-tenant", {"--name", name, "--quota-mem", quota});
    ASSERT_EQ(r.status, 0) << r.err;
  }

  static inline TempDir* dir_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline std::string skip_;
  std::unique_ptr<TempDir> work_;
  std::vector<std::unique_ptr<Registry>> regs_;
};

// ---- success paths ----

TEST_F(AdminE2E, CreateListSetQuotaDelete) {
  auto& reg = start();
  auto c =
      admin(reg, &pki_->admin, "create-tenant", {"--name", "acme", "--quota-mem", "1073741824"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(has(c.out, "acme")) << c.out;
  EXPECT_TRUE(has(c.out, "1.0 GiB")) << c.out;

  auto l = admin(reg, &pki_->admin, "list-tenants");
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_TRUE(has(l.out, "NAME")) << l.out;
  EXPECT_TRUE(has(l.out, "acme")) << l.out;

  auto s = admin(reg, &pki_->admin, "set-quota",
                 {"--tenant", "acme", "--mem", "2147483648", "--cpu", "4"});
  ASSERT_EQ(s.status, 0) << s.err;
  auto t = find_tenant(reg, "acme");
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t.value("quota_mem", 0ull), 2147483648ull);
  EXPECT_EQ(t.value("quota_cpu", 0ull), 4ull);

  auto d = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--yes"});
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_TRUE(has(d.out, "deleted tenant 'acme'")) << d.out;
  EXPECT_TRUE(find_tenant(reg, "acme").is_null());
}

// ---- refusals ----

TEST_F(AdminE2E, CreateTenantRefusals) {
  auto& reg = start();
  create(reg, "acme", "100");
  auto dup = admin(reg, &pki_->admin, "create-tenant", {"--name", "acme", "--quota-mem", "5"});
  EXPECT_EQ(dup.status, 14) << dup.err;
  EXPECT_TRUE(has(dup.err, "tenant_exists")) << dup.err;
  EXPECT_EQ(find_tenant(reg, "acme").value("quota_mem", 0ull), 100ull);  // untouched

  for (const std::string& bad : std::vector<std::string>{
           "bad/name", "-dash", "sp ace", "x'; DROP TABLE tenants;--", std::string(64, 'a')}) {
    auto r = admin(reg, &pki_->admin, "create-tenant", {"--name", bad});
    EXPECT_EQ(r.status, 3) << bad << ": " << r.err;
    EXPECT_TRUE(has(r.err, "400")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(tenants_json(reg)["tenants"].size(), 1u);
}

TEST_F(AdminE2E, SetQuotaBelowUsageNeedsForce) {
  auto& reg = start();
  create(reg, "acme");
  ASSERT_FALSE(mint_lease(reg, "acme", pki_->tenant_acme, 1000).empty());
  auto r = admin(reg, &pki_->admin, "set-quota", {"--tenant", "acme", "--mem", "10"});
  EXPECT_EQ(r.status, 14) << r.err;
  EXPECT_TRUE(has(r.err, "quota_below_usage")) << r.err;
  EXPECT_TRUE(has(r.err, "use --force")) << r.err;
  EXPECT_EQ(find_tenant(reg, "acme").value("quota_mem", 1ull), 0ull);  // unchanged
  auto f = admin(reg, &pki_->admin, "set-quota", {"--tenant", "acme", "--mem", "10", "--force"});
  EXPECT_EQ(f.status, 0) << f.err;
  EXPECT_EQ(find_tenant(reg, "acme").value("quota_mem", 0ull), 10ull);

  auto missing = admin(reg, &pki_->admin, "set-quota", {"--tenant", "nobody", "--mem", "1"});
  EXPECT_EQ(missing.status, 15) << missing.err;
  EXPECT_TRUE(has(missing.err, "404")) << missing.err;
}

TEST_F(AdminE2E, DeleteTenantWithActiveLeasesNeedsForce) {
  auto& reg = start();
  create(reg, "acme");
  ASSERT_FALSE(mint_lease(reg, "acme", pki_->tenant_acme, 64).empty());
  auto r = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--yes"});
  EXPECT_EQ(r.status, 14) << r.err;
  EXPECT_TRUE(has(r.err, "tenant_has_active_leases")) << r.err;
  EXPECT_TRUE(has(r.err, "--force")) << r.err;
  EXPECT_TRUE(find_tenant(reg, "acme").is_object());
  auto f = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--yes", "--force"});
  EXPECT_EQ(f.status, 0) << f.err;
  EXPECT_TRUE(has(f.out, "released 1")) << f.out;
  EXPECT_TRUE(find_tenant(reg, "acme").is_null());
  auto missing = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--yes"});
  EXPECT_EQ(missing.status, 15) << missing.err;
}

TEST_F(AdminE2E, DestructiveCommandsRefuseWithoutTtyOrYes) {
  auto& reg = start();
  create(reg, "acme");
  std::string lease = mint_lease(reg, "acme", pki_->tenant_acme, 64);
  ASSERT_FALSE(lease.empty());
  fence(reg, lease);
  auto d = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--force"});
  EXPECT_EQ(d.status, 2) << d.err;
  EXPECT_TRUE(has(d.err, "pass --yes")) << d.err;
  EXPECT_TRUE(find_tenant(reg, "acme").is_object());
  auto u = admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", lease});
  EXPECT_EQ(u.status, 2) << u.err;
  EXPECT_TRUE(has(u.err, "pass --yes")) << u.err;
  auto l = admin(reg, &pki_->admin, "list-fenced-leases", {"--json"});
  EXPECT_TRUE(has(l.out, lease)) << l.out;
}

TEST_F(AdminE2E, ConfirmationOnATerminal) {
  // script(1) gives the client a pseudo-terminal; the answer comes from our stdin.
  auto& reg = start();
  create(reg, "acme");
  std::string cmd = "'" + tool_path("GRAFOS_ADMIN") + "' delete-tenant --name acme --scheduler " +
                    reg.url() + " --ca '" + pki_->ca_cert + "' --cert '" + pki_->admin.cert +
                    "' --key '" + pki_->admin.key + "'";
  auto no = run({"/usr/bin/script", "-qec", cmd, "/dev/null"}, {}, "n\n");
  EXPECT_EQ(no.status, 1) << no.out << no.err;
  EXPECT_TRUE(has(no.out, "[y/N]")) << no.out;
  EXPECT_TRUE(find_tenant(reg, "acme").is_object());
  auto yes = run({"/usr/bin/script", "-qec", cmd, "/dev/null"}, {}, "y\n");
  EXPECT_EQ(yes.status, 0) << yes.out << yes.err;
  EXPECT_TRUE(find_tenant(reg, "acme").is_null());
}

TEST_F(AdminE2E, FencedLeasesListAndUnfence) {
  auto& reg = start();
  create(reg, "acme");
  std::string lease = mint_lease(reg, "acme", pki_->tenant_acme, 4096);
  ASSERT_EQ(lease.size(), 16u);
  fence(reg, lease);
  auto l = admin(reg, &pki_->admin, "list-fenced-leases");
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_TRUE(has(l.out, "LEASE_ID")) << l.out;
  EXPECT_TRUE(has(l.out, lease)) << l.out;
  auto w = admin(reg, &pki_->admin, "list-fenced-leases", {"--wide"});
  EXPECT_TRUE(has(w.out, "CAPACITY")) << w.out;

  std::string upper = "0x" + lease;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  upper[1] = 'x';
  auto u = admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", upper, "--yes"});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_TRUE(has(u.out, "unfenced lease " + lease)) << u.out;
  auto after = admin(reg, &pki_->admin, "list-fenced-leases", {"--json"});
  EXPECT_FALSE(has(after.out, lease)) << after.out;

  auto again = admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", lease, "--yes"});
  EXPECT_EQ(again.status, 14) << again.err;
  EXPECT_TRUE(has(again.err, "not_fenced")) << again.err;
  auto unknown = admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", "0xdeadbeef", "--yes"});
  EXPECT_EQ(unknown.status, 15) << unknown.err;
  auto bad = admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", "nothex", "--yes"});
  EXPECT_EQ(bad.status, 2) << bad.err;
}

TEST_F(AdminE2E, AuditQueryFilters) {
  auto& reg = start();
  create(reg, "acme");
  admin(reg, &pki_->observer, "create-tenant", {"--name", "denied-one"});  // refused, audited
  auto all = admin(reg, &pki_->admin, "audit-query", {"--json", "--limit", "1000"});
  ASSERT_EQ(all.status, 0) << all.err;
  auto j = json::parse(all.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << all.out;
  ASSERT_TRUE(j.contains("entries"));
  EXPECT_GE(j["entries"].size(), 2u);

  auto denied = admin(reg, &pki_->admin, "audit-query", {"--outcome", "denied", "--json"});
  ASSERT_EQ(denied.status, 0) << denied.err;
  auto dj = json::parse(denied.out, nullptr, false);
  ASSERT_TRUE(dj.is_object() && dj["entries"].is_array()) << denied.out;
  ASSERT_FALSE(dj["entries"].empty()) << denied.out;
  for (auto& e : dj["entries"]) EXPECT_EQ(e.value("outcome", ""), "denied");
  EXPECT_TRUE(has(denied.out, "fabric-observer")) << denied.out;

  auto kinds =
      admin(reg, &pki_->admin, "audit-query", {"--kind", "tenant", "--kind", "auth", "--json"});
  ASSERT_EQ(kinds.status, 0) << kinds.err;
  auto kj = json::parse(kinds.out, nullptr, false);
  ASSERT_TRUE(kj.is_object() && kj["entries"].is_array()) << kinds.out;
  EXPECT_FALSE(kj["entries"].empty());
  for (auto& e : kj["entries"]) {
    std::string k = e.value("kind", "");
    EXPECT_TRUE(k == "tenant" || k == "auth") << k;
  }
  auto one = admin(reg, &pki_->admin, "audit-query", {"--limit", "1", "--json"});
  EXPECT_EQ(json::parse(one.out)["entries"].size(), 1u) << one.out;
  auto table = admin(reg, &pki_->admin, "audit-query", {"--principal", "fabric-observer"});
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_TRUE(has(table.out, "OUTCOME")) << table.out;
  EXPECT_TRUE(has(table.out, "denied")) << table.out;
  auto badkind = admin(reg, &pki_->admin, "audit-query", {"--kind", "bogus"});
  EXPECT_EQ(badkind.status, 2) << badkind.err;
}

// ---- roles through the client ----

TEST_F(AdminE2E, RoleMatrix) {
  auto& reg = start();
  create(reg, "acme");
  create(reg, "globex");
  struct Case {
    const Identity* id;
    std::string cmd;
    std::vector<std::string> args;
    int want;
    std::string err_has;
  };
  const Case cases[] = {
      {&pki_->observer, "list-tenants", {}, 0, ""},
      {&pki_->observer, "audit-query", {}, 0, ""},
      {&pki_->observer, "list-fenced-leases", {}, 0, ""},
      {&pki_->observer, "create-tenant", {"--name", "x1"}, 13, "fabric-admin"},
      {&pki_->observer, "set-quota", {"--tenant", "acme", "--mem", "1"}, 13, "fabric-admin"},
      {&pki_->observer, "delete-tenant", {"--name", "acme", "--yes"}, 13, "fabric-admin"},
      {&pki_->tenant_acme, "list-tenants", {}, 0, ""},
      {&pki_->tenant_acme, "create-tenant", {"--name", "x2"}, 13, "fabric-admin"},
      {&pki_->tenant_acme, "audit-query", {}, 13, "fabric-observer"},
      {&pki_->tenant_acme, "list-fenced-leases", {}, 13, "fabric-observer"},
      {&pki_->tenant_acme, "unfence-lease", {"--lease-id", "1", "--yes"}, 13, "fabric-admin"},
      {&pki_->cell, "list-tenants", {}, 13, "requires role"},
      {&pki_->cell, "audit-query", {}, 13, "requires role"},
      {&pki_->admin, "audit-query", {}, 0, ""},
      {&pki_->foreign_admin, "list-tenants", {}, 11, "refused the client certificate"},
      {nullptr, "list-tenants", {}, -1, ""},  // no certificate: refused in TLS or with 401
  };
  for (const auto& c : cases) {
    auto r = admin(reg, c.id, c.cmd, c.args);
    if (c.want == -1) {
      EXPECT_TRUE(r.status == 11 || r.status == 12) << r.status << " " << r.err;
      continue;
    }
    EXPECT_EQ(r.status, c.want) << c.cmd << " as " << (c.id ? c.id->cert : "none") << ": " << r.err;
    if (!c.err_has.empty()) {
      EXPECT_TRUE(has(r.err, c.err_has)) << r.err;
    }
  }
  // The tenant sees only itself.
  auto own = admin(reg, &pki_->tenant_acme, "list-tenants", {"--json"});
  auto j = json::parse(own.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << own.out;
  ASSERT_EQ(j["tenants"].size(), 1u) << own.out;
  EXPECT_EQ(j["tenants"][0]["name"], "acme");
  EXPECT_EQ(tenants_json(reg)["tenants"].size(), 2u);  // nothing created by refused calls
}

// ---- output ----

TEST_F(AdminE2E, JsonWideAndColour) {
  auto& reg = start();
  create(reg, "acme", "2048");
  auto j = admin(reg, &pki_->admin, "list-tenants", {"--json"});
  ASSERT_EQ(j.status, 0) << j.err;
  auto parsed = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_EQ(parsed["tenants"][0]["quota_mem"], 2048);

  auto narrow = admin(reg, &pki_->admin, "list-tenants");
  auto wide = admin(reg, &pki_->admin, "list-tenants", {"--wide"});
  EXPECT_FALSE(has(narrow.out, "LAST_USED"));
  EXPECT_TRUE(has(wide.out, "LAST_USED")) << wide.out;
  EXPECT_TRUE(has(wide.out, "2048")) << wide.out;
  EXPECT_FALSE(has(narrow.out, "\033[")) << "no colour without a TTY";

  // On a terminal: colour by default, none with --no-color or NO_COLOR.
  std::string base = "'" + tool_path("GRAFOS_ADMIN") + "' list-tenants --scheduler " + reg.url() +
                     " --ca '" + pki_->ca_cert + "' --cert '" + pki_->admin.cert + "' --key '" +
                     pki_->admin.key + "'";
  auto tty = run({"/usr/bin/script", "-qec", base, "/dev/null"});
  EXPECT_EQ(tty.status, 0) << tty.out;
  EXPECT_TRUE(has(tty.out, "\033[1m")) << tty.out;
  auto nc = run({"/usr/bin/script", "-qec", base + " --no-color", "/dev/null"});
  EXPECT_TRUE(has(nc.out, "acme")) << nc.out;
  EXPECT_FALSE(has(nc.out, "\033[")) << nc.out;
  auto env = run({"/usr/bin/script", "-qec", base, "/dev/null"}, {{"NO_COLOR", "1"}});
  EXPECT_TRUE(has(env.out, "acme")) << env.out;
  EXPECT_FALSE(has(env.out, "\033[")) << env.out;
}

TEST_F(AdminE2E, EnvironmentVariablesStandInForFlags) {
  auto& reg = start();
  create(reg, "acme");
  auto r = run({tool_path("GRAFOS_ADMIN"), "list-tenants"}, {{"GRAFOS_SCHEDULER", reg.url()},
                                                             {"GRAFOS_CA", pki_->ca_cert},
                                                             {"GRAFOS_CERT", pki_->observer.cert},
                                                             {"GRAFOS_KEY", pki_->observer.key}});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "acme")) << r.out;
}

// ---- bearer tokens (mtls+token) ----

TEST_F(AdminE2E, BearerTokenFromFileAndNeverPrinted) {
  auto& reg = start({"--auth", "mtls+token"});
  auto tok = run({tool_path("GRAFOS_REGISTRY"), "admin-token", "add", "ops", "--db", reg.db()});
  ASSERT_EQ(tok.status, 0) << tok.err;
  std::string token;
  for (std::istringstream in(tok.out); in >> token;) {
    if (token.size() >= 20) break;  // the one long whitespace-free word is the token
  }
  ASSERT_GE(token.size(), 20u) << tok.out;
  auto file = (work_->path() / "token").string();
  std::ofstream(file) << token << "\n";

  auto without = admin(reg, &pki_->admin, "create-tenant", {"--name", "acme"});
  EXPECT_EQ(without.status, 12) << without.err;
  EXPECT_TRUE(has(without.err, "bearer")) << without.err;
  auto with = admin(reg, &pki_->admin, "create-tenant", {"--name", "acme", "--bearer-file", file});
  EXPECT_EQ(with.status, 0) << with.err;
  auto env = admin(reg, &pki_->admin, "set-quota", {"--tenant", "acme", "--mem", "5"},
                   {{"GRAFOS_BEARER", token}});
  EXPECT_EQ(env.status, 0) << env.err;
  auto wrong = admin(reg, &pki_->admin, "set-quota", {"--tenant", "acme", "--mem", "6"},
                     {{"GRAFOS_BEARER", token + "x"}});
  EXPECT_EQ(wrong.status, 12) << wrong.err;
  for (const auto* r : {&without, &with, &env, &wrong}) {
    EXPECT_FALSE(has(r->err, token)) << r->err;
    EXPECT_FALSE(has(r->out, token)) << r->out;
  }
  EXPECT_FALSE(has(reg.log(), token));
}

// ---- client key on a PKCS#11 token (SoftHSMv2, private SOFTHSM2_CONF) ----

TEST_F(AdminE2E, ClientKeyOnPkcs11Token) {
  std::string script = tool_path("GRAFOS_SOURCE_ROOT") + "/tests/support/softhsm-token.sh";
  auto tokdir = (work_->path() / "token").string();
  auto tok = run({"/bin/sh", script, tokdir, "client"},
                 {{"GRAFOS_P11_INIT_TOKEN", tool_path("GRAFOS_P11_INIT_TOKEN")}});
  ASSERT_EQ(tok.status, 0) << tok.err;
  std::string conf = tokdir + "/softhsm2.conf";
  std::string pin_file = tokdir + "/client.pin";
  EnvOverrides env{{"SOFTHSM2_CONF", conf}};
  // Move the tenant's key into the token, the PIN read from the token's PIN file.
  auto imp = run({tool_path("GRAFOS_P11_IMPORT_KEY"), "/usr/lib/softhsm/libsofthsm2.so", "client",
                  "acme-key", "01", pki_->tenant_acme.key, pin_file},
                 env);
  ASSERT_EQ(imp.status, 0) << imp.err << imp.out;
  std::string uri =
      "pkcs11:token=client;object=acme-key?module-path=/usr/lib/softhsm/libsofthsm2.so"
      "&pin-source=file:" +
      pin_file;
  auto& reg = start();
  create(reg, "acme");
  auto r = run({tool_path("GRAFOS_ADMIN"), "list-tenants", "--scheduler", reg.url(), "--ca",
                pki_->ca_cert, "--cert", pki_->tenant_acme.cert, "--key", uri},
               env);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "acme")) << r.out;

  // A wrong PIN is a key error (exit 5), reported before any request is sent.
  auto bad_pin = (work_->path() / "bad.pin").string();
  std::ofstream(bad_pin) << "000000\n";
  std::string bad_uri = uri.substr(0, uri.find("pin-source=")) + "pin-source=file:" + bad_pin;
  auto b = run({tool_path("GRAFOS_ADMIN"), "list-tenants", "--scheduler", reg.url(), "--ca",
                pki_->ca_cert, "--cert", pki_->tenant_acme.cert, "--key", bad_uri},
               env);
  EXPECT_EQ(b.status, 5) << b.err;
  EXPECT_FALSE(has(b.err, "000000")) << b.err;
  // An object that is not in the token is a key that could not be loaded (5), not a missing
  // local file (6).
  std::string no_obj = uri;
  no_obj.replace(no_obj.find("object=acme-key"), 15, "object=no-such-key");
  auto n = run({tool_path("GRAFOS_ADMIN"), "list-tenants", "--scheduler", reg.url(), "--ca",
                pki_->ca_cert, "--cert", pki_->tenant_acme.cert, "--key", no_obj},
               env);
  EXPECT_EQ(n.status, 5) << n.err;
  EXPECT_TRUE(has(n.err, "no private key")) << n.err;
  // The key must match the certificate.
  auto m = run({tool_path("GRAFOS_ADMIN"), "list-tenants", "--scheduler", reg.url(), "--ca",
                pki_->ca_cert, "--cert", pki_->admin.cert, "--key", uri},
               env);
  EXPECT_EQ(m.status, 5) << m.err;
  EXPECT_TRUE(has(m.err, "does not match")) << m.err;
}

// ---- transport failures ----

TEST_F(AdminE2E, WrongServerCaFailsTlsVerification) {
  auto& reg = start();
  auto r = admin(reg, &pki_->admin, "list-tenants", {}, {}, pki_->foreign_ca_cert);
  EXPECT_EQ(r.status, 11) << r.err;
  EXPECT_TRUE(has(r.err, "TLS verification of the server")) << r.err;
}

TEST_F(AdminE2E, ConnectionRefusedAndTimeout) {
  auto& reg = start();
  int port = reg.port();
  reg.stop();
  auto refused = admin(reg, &pki_->admin, "list-tenants", {"--bearer", "sekrit-token-123"});
  EXPECT_EQ(refused.status, 10) << refused.err;
  EXPECT_TRUE(has(refused.err, "cannot connect")) << refused.err;
  EXPECT_FALSE(has(refused.err, "sekrit")) << refused.err;

  // A listener that never answers the TLS hello.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) a.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 || a.sin_port != 0, true);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::listen(fd, 8);
  std::string url = "https://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto slow = run({tool_path("GRAFOS_ADMIN"), "list-tenants", "--scheduler", url, "--ca",
                   pki_->ca_cert, "--timeout", "1"});
  ::close(fd);
  EXPECT_EQ(slow.status, 10) << slow.err;
  EXPECT_TRUE(has(slow.err, "timed out")) << slow.err;
}

// ---- orchestrator fan-out ----

// ---- issue 16: the first hour ----

TEST_F(AdminE2E, SetQuotaChangesOnlyTheQuotaGiven) {
  auto& reg = start();
  create(reg, "globex");
  auto both =
      admin(reg, &pki_->admin, "set-quota", {"--tenant", "globex", "--mem", "100", "--cpu", "4"});
  ASSERT_EQ(both.status, 0) << both.err;
  auto mem = admin(reg, &pki_->admin, "set-quota", {"--tenant", "globex", "--mem", "3221225472"});
  ASSERT_EQ(mem.status, 0) << mem.err;
  auto t = find_tenant(reg, "globex");
  EXPECT_EQ(t.value("quota_mem", 0ull), 3221225472ull);
  EXPECT_EQ(t.value("quota_cpu", 0ull), 4ull) << "--mem alone reset the CPU quota";
  auto cpu = admin(reg, &pki_->admin, "set-quota", {"--tenant", "globex", "--cpu", "8"});
  ASSERT_EQ(cpu.status, 0) << cpu.err;
  t = find_tenant(reg, "globex");
  EXPECT_EQ(t.value("quota_mem", 0ull), 3221225472ull) << "--cpu alone reset the memory quota";
  EXPECT_EQ(t.value("quota_cpu", 0ull), 8ull);
  auto zero = admin(reg, &pki_->admin, "set-quota", {"--tenant", "globex", "--mem", "0"});
  ASSERT_EQ(zero.status, 0) << zero.err;
  t = find_tenant(reg, "globex");
  EXPECT_EQ(t.value("quota_mem", 1ull), 0ull) << "0 sets unlimited explicitly";
  EXPECT_EQ(t.value("quota_cpu", 0ull), 8ull);
  // Nothing to change: a usage error before connecting, and the tenant is untouched.
  auto none = admin(reg, &pki_->admin, "set-quota", {"--tenant", "globex"});
  EXPECT_EQ(none.status, 2) << none.err;
  EXPECT_TRUE(has(none.err, "changes nothing")) << none.err;
  EXPECT_TRUE(none.out.empty()) << none.out;
  t = find_tenant(reg, "globex");
  EXPECT_EQ(t.value("quota_mem", 1ull), 0ull);
  EXPECT_EQ(t.value("quota_cpu", 0ull), 8ull);
}

TEST_F(AdminE2E, HintsAreSaidOnceAndCountsReadNaturally) {
  auto& reg = start();
  create(reg, "acme");
  ASSERT_FALSE(mint_lease(reg, "acme", pki_->tenant_acme, 64).empty());
  auto count = [](const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
  };
  auto d = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--yes"});
  EXPECT_EQ(d.status, 14) << d.err;
  EXPECT_EQ(count(d.err, "force"), 1u) << d.err;
  EXPECT_EQ(count(d.err, "wait for"), 1u) << d.err;
  EXPECT_TRUE(has(d.err, "has 1 active lease;")) << d.err;
  EXPECT_FALSE(has(d.err, "(s)")) << d.err;
  auto q = admin(reg, &pki_->admin, "set-quota", {"--tenant", "acme", "--mem", "1"});
  EXPECT_EQ(q.status, 14) << q.err;
  EXPECT_EQ(count(q.err, "force"), 1u) << q.err;
  auto f = admin(reg, &pki_->admin, "delete-tenant", {"--name", "acme", "--yes", "--force"});
  EXPECT_EQ(f.status, 0) << f.err;
  EXPECT_TRUE(has(f.out, "(released 1 active lease)")) << f.out;

  create(reg, "beta");
  std::string lease = mint_lease(reg, "beta", pki_->admin, 64);
  ASSERT_FALSE(lease.empty());
  fence(reg, lease);
  ASSERT_EQ(admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", lease, "--yes"}).status, 0);
  auto again = admin(reg, &pki_->admin, "unfence-lease", {"--lease-id", lease, "--yes"});
  EXPECT_EQ(again.status, 14) << again.err;
  EXPECT_EQ(count(again.err, "not fenced"), 1u) << again.err;
  EXPECT_TRUE(has(again.err, "list-fenced-leases")) << again.err;

  auto dup = admin(reg, &pki_->admin, "create-tenant", {"--name", "beta"});
  EXPECT_EQ(dup.status, 14) << dup.err;
  EXPECT_TRUE(has(dup.err, "set-quota")) << dup.err;
}

TEST_F(AdminE2E, ServerCertificateAsClientCertificateIsNamed) {
  auto& reg = start();
  auto r = admin(reg, &pki_->server, "list-tenants");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_TRUE(has(r.err, "clientAuth")) << r.err;
  EXPECT_TRUE(has(r.err, "server certificate")) << r.err;
  EXPECT_FALSE(has(r.err, "getpeername")) << r.err;
  EXPECT_FALSE(has(r.err, "issued by its fabric CA")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // Refused before connecting: the server saw no refused handshake or request.
  auto audit = admin(reg, &pki_->admin, "audit-query", {"--json", "--outcome", "denied"});
  ASSERT_EQ(audit.status, 0) << audit.err;
  auto aj = json::parse(audit.out, nullptr, false);
  ASSERT_TRUE(aj.is_object()) << audit.out;
  EXPECT_TRUE(aj["entries"].empty()) << audit.out;
}

TEST_F(AdminE2E, JsonErrorsAreJsonOnStdout) {
  auto& reg = start();
  create(reg, "acme");
  auto dup = admin(reg, &pki_->admin, "create-tenant", {"--name", "acme", "--json"});
  EXPECT_EQ(dup.status, 14) << dup.err;
  auto j = json::parse(dup.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << dup.out;
  EXPECT_EQ(j.value("error", ""), "tenant_exists") << dup.out;
  EXPECT_TRUE(has(j.value("message", ""), "tenant_exists")) << dup.out;
  EXPECT_TRUE(has(dup.err, "error:")) << dup.err;  // the text line stays on stderr
  auto usage = admin(reg, &pki_->admin, "audit-query", {"--json", "--outcome", "bogus"});
  EXPECT_EQ(usage.status, 2) << usage.err;
  auto u = json::parse(usage.out, nullptr, false);
  ASSERT_TRUE(u.is_object()) << usage.out;
  EXPECT_EQ(u.value("error", ""), "usage");
  auto missing =
      admin(reg, &pki_->admin, "set-quota", {"--tenant", "ghost", "--mem", "1", "--json"});
  EXPECT_EQ(missing.status, 15) << missing.err;
  EXPECT_EQ(json::parse(missing.out, nullptr, false).value("error", ""), "remote_not_found")
      << missing.out;
  // Without --json stdout stays empty on error.
  auto plain = admin(reg, &pki_->admin, "create-tenant", {"--name", "acme"});
  EXPECT_EQ(plain.status, 14);
  EXPECT_TRUE(plain.out.empty()) << plain.out;
}

TEST_F(AdminE2E, SavedAdminTokenOutputIsABearerFile) {
  auto& reg = start({"--auth", "mtls+token"});
  auto tok = run({tool_path("GRAFOS_REGISTRY"), "admin-token", "add", "ops", "--db", reg.db()});
  ASSERT_EQ(tok.status, 0) << tok.err;
  EXPECT_TRUE(has(tok.err, "--bearer-file")) << tok.err;  // what it is: on stderr
  auto file = (work_->path() / "ops.token").string();
  std::ofstream(file) << tok.out;  // saved exactly as printed, as `> ops.token` would
  auto with = admin(reg, &pki_->admin, "create-tenant", {"--name", "acme", "--bearer-file", file});
  EXPECT_EQ(with.status, 0) << with.err;

  // list shows it without the token; revoke makes it useless.
  auto list = run({tool_path("GRAFOS_REGISTRY"), "admin-token", "list", "--db", reg.db()});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_TRUE(has(list.out, "ops")) << list.out;
  EXPECT_TRUE(has(list.out, "active")) << list.out;
  std::string token = tok.out.substr(0, tok.out.find('\n'));
  EXPECT_FALSE(has(list.out, token)) << list.out;
  auto rev = run({tool_path("GRAFOS_REGISTRY"), "admin-token", "revoke", "ops", "--db", reg.db()});
  ASSERT_EQ(rev.status, 0) << rev.err;
  auto after = admin(reg, &pki_->admin, "create-tenant", {"--name", "beta", "--bearer-file", file});
  EXPECT_EQ(after.status, 12) << after.err;
  EXPECT_TRUE(find_tenant(reg, "beta").is_null());
  auto list2 =
      run({tool_path("GRAFOS_REGISTRY"), "--json", "admin-token", "list", "--db", reg.db()});
  auto lj = json::parse(list2.out, nullptr, false);
  ASSERT_TRUE(lj.is_object()) << list2.out;
  EXPECT_EQ(lj["admin_tokens"][0].value("status", ""), "revoked") << list2.out;
  auto unknown =
      run({tool_path("GRAFOS_REGISTRY"), "admin-token", "revoke", "nobody", "--db", reg.db()});
  EXPECT_EQ(unknown.status, 1) << unknown.err;
  EXPECT_TRUE(has(unknown.err, "nobody")) << unknown.err;
}

TEST_F(AdminE2E, TenantTokenForATenantCreatedOverTheApi) {
  auto& reg = start({"--auth", "token"});
  auto tok = run({tool_path("GRAFOS_REGISTRY"), "admin-token", "add", "ops", "--db", reg.db()});
  ASSERT_EQ(tok.status, 0) << tok.err;
  auto admin_file = (work_->path() / "ops.token").string();
  std::ofstream(admin_file) << tok.out;
  auto c = admin(reg, nullptr, "create-tenant", {"--name", "globex", "--bearer-file", admin_file});
  ASSERT_EQ(c.status, 0) << c.err;
  auto tt = run({tool_path("GRAFOS_REGISTRY"), "tenant", "token", "globex", "--db", reg.db()});
  ASSERT_EQ(tt.status, 0) << tt.err;
  auto tenant_file = (work_->path() / "globex.token").string();
  std::ofstream(tenant_file) << tt.out;
  auto l = admin(reg, nullptr, "list-tenants", {"--json", "--bearer-file", tenant_file});
  ASSERT_EQ(l.status, 0) << l.err;
  auto j = json::parse(l.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << l.out;
  ASSERT_EQ(j["tenants"].size(), 1u) << l.out;
  EXPECT_EQ(j["tenants"][0].value("name", ""), "globex");
  // A second token replaces the first.
  auto tt2 = run({tool_path("GRAFOS_REGISTRY"), "tenant", "token", "globex", "--db", reg.db()});
  ASSERT_EQ(tt2.status, 0) << tt2.err;
  auto old = admin(reg, nullptr, "list-tenants", {"--bearer-file", tenant_file});
  EXPECT_EQ(old.status, 12) << old.err;
  // No such tenant: exit 1, and no token is printed.
  auto none = run({tool_path("GRAFOS_REGISTRY"), "tenant", "token", "ghost", "--db", reg.db()});
  EXPECT_EQ(none.status, 1) << none.err;
  EXPECT_TRUE(none.out.empty()) << none.out;
  // A database that does not exist is not created.
  auto nodb = (work_->path() / "no.db").string();
  auto missing = run({tool_path("GRAFOS_REGISTRY"), "tenant", "token", "globex", "--db", nodb});
  EXPECT_NE(missing.status, 0);
  EXPECT_FALSE(std::filesystem::exists(nodb));
}

TEST_F(AdminE2E, FanOutReportsTheDeadCell) {
  auto& cell1 = start({"--mode", "cell", "--node-id", "cell-one"});
  auto& cell2 = start({"--mode", "cell", "--node-id", "cell-two"});
  create(cell1, "acme");
  std::string lease = mint_lease(cell1, "acme", pki_->tenant_acme, 128);
  ASSERT_FALSE(lease.empty());
  fence(cell1, lease);
  auto& orch =
      start({"--mode", "orchestrator", "--cell", cell1.url(), "--cell", cell2.url(), "--cell-cert",
             pki_->observer.cert, "--cell-key", pki_->observer.key, "--cell-timeout-ms", "2000"});
  std::string dead = cell2.url();
  cell2.stop();

  auto a = admin(orch, &pki_->admin, "audit-query", {"--all", "--json"});
  ASSERT_EQ(a.status, 0) << a.err;
  auto aj = json::parse(a.out, nullptr, false);
  ASSERT_TRUE(aj.is_object()) << a.out;
  bool live_entry = false;
  for (auto& e : aj["entries"])
    if (e.value("source", "") == cell1.url()) live_entry = true;
  EXPECT_TRUE(live_entry) << a.out;
  bool dead_reported = false, live_ok = false;
  for (auto& s : aj["sources"]) {
    if (s.value("url", "") == dead && !s.value("ok", true)) dead_reported = true;
    if (s.value("url", "") == cell1.url() && s.value("ok", false)) live_ok = true;
  }
  EXPECT_TRUE(dead_reported) << a.out;
  EXPECT_TRUE(live_ok) << a.out;

  auto at = admin(orch, &pki_->admin, "audit-query", {"--all"});
  EXPECT_EQ(at.status, 0) << at.err;
  EXPECT_TRUE(has(at.out, "SOURCE")) << at.out;
  EXPECT_TRUE(has(at.out, "failed")) << at.out;
  EXPECT_TRUE(has(at.err, dead)) << at.err;

  auto f = admin(orch, &pki_->admin, "list-fenced-leases", {"--all", "--json"});
  ASSERT_EQ(f.status, 0) << f.err;
  auto fj = json::parse(f.out, nullptr, false);
  ASSERT_TRUE(fj.is_object()) << f.out;
  ASSERT_EQ(fj["leases"].size(), 1u) << f.out;
  EXPECT_EQ(fj["leases"][0]["lease_id"], lease);
  EXPECT_EQ(fj["leases"][0].value("source", ""), cell1.url());
  bool dead_in_sources = false;
  for (auto& s : fj["sources"])
    if (s.value("url", "") == dead && !s.value("ok", true)) dead_in_sources = true;
  EXPECT_TRUE(dead_in_sources) << f.out;
  auto ft = admin(orch, &pki_->admin, "list-fenced-leases", {"--all", "--wide"});
  EXPECT_EQ(ft.status, 0) << ft.err;
  EXPECT_TRUE(has(ft.out, lease)) << ft.out;
  EXPECT_TRUE(has(ft.out, "failed")) << ft.out;
}

}  // namespace
}  // namespace grafos::e2e
