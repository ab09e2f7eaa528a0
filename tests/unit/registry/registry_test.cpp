// Unit tests of grafos-registry's library: the URN/role parsing and name grammars (registry/auth),
// and the store's server-side rules on a real SQLite database in a temporary directory
// (quota below usage, delete with active leases, fence/unfence, audit filters, audit entries kept
// when the database is busy or a commit fails).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "registry/auth.hpp"
#include "registry/store.hpp"

namespace grafos::registry {
namespace {

// ---- URN parsing ----

struct UrnCase {
  const char* urn;
  bool ok;
  Role role = Role::tenant;
  const char* tenant = "";
  const char* provider = "";
  const char* cell_id = "";
};

class UrnTest : public testing::TestWithParam<UrnCase> {};

TEST_P(UrnTest, ParsesExactly) {
  const UrnCase& c = GetParam();
  auto p = principal_from_urn(c.urn);
  ASSERT_EQ(p.has_value(), c.ok) << c.urn << (p ? "" : ": " + p.error().message);
  if (!c.ok) {
    EXPECT_FALSE(p.error().message.empty());
    return;
  }
  EXPECT_EQ(p->role, c.role);
  EXPECT_EQ(p->name, c.urn);
  EXPECT_EQ(p->tenant, c.tenant);
  EXPECT_EQ(p->provider, c.provider);
  EXPECT_EQ(p->cell_id, c.cell_id);
}

INSTANTIATE_TEST_SUITE_P(
    Table, UrnTest,
    testing::Values(
        UrnCase{"urn:fabricbios:tenant:acme", true, Role::tenant, "acme"},
        UrnCase{"urn:fabricbios:tenant:a.b_c-9", true, Role::tenant, "a.b_c-9"},
        UrnCase{"urn:fabricbios:tenant:9lives", true, Role::tenant, "9lives"},
        UrnCase{"urn:fabricbios:fabric-observer", true, Role::fabric_observer},
        UrnCase{"urn:fabricbios:fabric-admin", true, Role::fabric_admin},
        UrnCase{"urn:fabricbios:cell:aws:7", true, Role::cell, "", "aws", "7"},
        UrnCase{"urn:fabricbios:cell:on-prem:18446744073709551615", true, Role::cell, "", "on-prem",
                "18446744073709551615"},
        // Refused: case and percent variants, unknown roles, bad grammar, trailing parts.
        UrnCase{"URN:fabricbios:fabric-admin", false},
        UrnCase{"urn:FabricBIOS:fabric-admin", false},
        UrnCase{"urn:fabricbios:Fabric-Admin", false},
        UrnCase{"urn:fabricbios:tenant:ac%6de", false},
        UrnCase{"urn:fabricbios:fabric-admin:", false},
        UrnCase{"urn:fabricbios:fabric-admin:x", false}, UrnCase{"urn:fabricbios:tenant:", false},
        UrnCase{"urn:fabricbios:tenant:-acme", false},
        UrnCase{"urn:fabricbios:tenant:ac/me", false},
        UrnCase{"urn:fabricbios:tenant:acme:extra", false},
        UrnCase{"urn:fabricbios:tenant:ac me", false}, UrnCase{"urn:fabricbios:cell:aws", false},
        UrnCase{"urn:fabricbios:cell:AWS:7", false}, UrnCase{"urn:fabricbios:cell:aws:07", false},
        UrnCase{"urn:fabricbios:cell:aws:-7", false},
        UrnCase{"urn:fabricbios:cell:aws:18446744073709551616", false},
        UrnCase{"urn:fabricbios:superuser", false}, UrnCase{"urn:fabricbios:", false},
        UrnCase{"", false}, UrnCase{"urn:other:fabric-admin", false}));

// ---- name grammars ----

struct NameCase {
  std::string s;
  bool ok;
};

class TenantNameTest : public testing::TestWithParam<NameCase> {};
TEST_P(TenantNameTest, Grammar) {
  EXPECT_EQ(valid_tenant_name(GetParam().s), GetParam().ok) << "'" << GetParam().s << "'";
}
INSTANTIATE_TEST_SUITE_P(
    Table, TenantNameTest,
    testing::Values(NameCase{"acme", true}, NameCase{"A", true}, NameCase{"0", true},
                    NameCase{"a.b-c_d", true}, NameCase{std::string(63, 'a'), true},
                    NameCase{std::string(64, 'a'), false}, NameCase{"", false},
                    NameCase{".acme", false}, NameCase{"-acme", false}, NameCase{"_acme", false},
                    NameCase{"ac me", false}, NameCase{"ac/me", false}, NameCase{"../etc", false},
                    NameCase{"acme'; DROP TABLE tenants;--", false},
                    NameCase{std::string("ac\0me", 5), false}, NameCase{"acm\xc3\xa9", false}));

class ProviderTest : public testing::TestWithParam<NameCase> {};
TEST_P(ProviderTest, Grammar) {
  EXPECT_EQ(valid_provider(GetParam().s), GetParam().ok) << "'" << GetParam().s << "'";
}
INSTANTIATE_TEST_SUITE_P(Table, ProviderTest,
                         testing::Values(NameCase{"aws", true}, NameCase{"on-prem-2", true},
                                         NameCase{std::string(63, 'a'), true},
                                         NameCase{std::string(64, 'a'), false}, NameCase{"", false},
                                         NameCase{"-aws", false}, NameCase{"aws-", false},
                                         NameCase{"AWS", false}, NameCase{"a_ws", false},
                                         NameCase{"a.ws", false}));

class CellIdTest : public testing::TestWithParam<NameCase> {};
TEST_P(CellIdTest, Grammar) {
  EXPECT_EQ(valid_cell_id(GetParam().s), GetParam().ok) << "'" << GetParam().s << "'";
}
INSTANTIATE_TEST_SUITE_P(Table, CellIdTest,
                         testing::Values(NameCase{"0", true}, NameCase{"7", true},
                                         NameCase{"18446744073709551615", true},
                                         NameCase{"18446744073709551616", false},
                                         NameCase{"", false}, NameCase{"07", false},
                                         NameCase{"-1", false}, NameCase{"+1", false},
                                         NameCase{" 1", false}, NameCase{"1e3", false},
                                         NameCase{"0x10", false}));

TEST(Tokens, FreshTokensDifferAndDigestIsSha256Hex) {
  auto a = generate_token();
  auto b = generate_token();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->view().starts_with("gfr_"));
  EXPECT_EQ(a->view().size(), 4u + 64u);
  EXPECT_NE(a->view(), b->view());
  // SHA-256("abc")
  EXPECT_EQ(token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(token_digest(a->view()), token_digest(b->view()));
}

TEST(WireCode, Split) {
  EXPECT_EQ(split_wire_code("quota_below_usage: too low"),
            (std::pair<std::string, std::string>{"quota_below_usage", "too low"}));
  EXPECT_EQ(split_wire_code("no code here").first, "");
}

// ---- the store's rules, on a real SQLite database ----

class StoreTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/grafos-reg-unit.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // A short busy timeout: the tests that hold the write lock from a second connection need not
    // wait the server's 5 s for each refused write.
    auto s = Store::open(dir_ + "/registry.db", true, std::chrono::milliseconds(100));
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  admin::AuditEntry audit(const char* kind, const char* principal, const char* action) {
    admin::AuditEntry e;
    e.time = now_;
    e.kind = kind;
    e.principal = principal;
    e.action = action;
    e.outcome = "allowed";
    return e;
  }
  admin::Tenant tenant(const std::string& name, std::uint64_t mem, std::uint64_t cpu) {
    auto t = store_->create_tenant(name, mem, cpu, "", now_,
                                   audit("admin", "urn:fabricbios:fabric-admin", "create"));
    EXPECT_TRUE(t) << t.error().message;
    return t ? *t : admin::Tenant{};
  }
  admin::Lease mint(const std::string& t, std::uint64_t mem, std::uint64_t cpu,
                    std::int64_t ttl = 600) {
    auto l = store_->mint_lease(t, mem, cpu, ttl, "urn:fabricbios:tenant:" + t, "node-0", now_,
                                audit("lease", "urn:fabricbios:tenant:x", "mint"));
    EXPECT_TRUE(l) << l.error().message;
    return l ? *l : admin::Lease{};
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::int64_t now_ = 1'800'000'000;
};

struct QuotaCase {
  const char* what;
  std::uint64_t mem, cpu;
  bool force;
  bool ok;
};

class QuotaTest : public StoreTest, public testing::WithParamInterface<QuotaCase> {};

TEST_P(QuotaTest, BelowUsageNeedsForce) {
  const QuotaCase& c = GetParam();
  tenant("acme", 1000, 10);
  mint("acme", 400, 4);  // usage: mem 400, cpu 4
  auto r = store_->set_quota("acme", c.mem, c.cpu, c.force, now_,
                             audit("admin", "urn:fabricbios:fabric-admin", "set-quota"));
  auto after = store_->get_tenant("acme", now_);
  ASSERT_TRUE(after);
  if (c.ok) {
    ASSERT_TRUE(r) << c.what << ": " << r.error().message;
    EXPECT_EQ(after->quota_mem, c.mem) << c.what;
    EXPECT_EQ(after->quota_cpu, c.cpu) << c.what;
  } else {
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, Errc::quota_below_usage) << c.what;
    EXPECT_EQ(r.error().message.find("quota_below_usage"), std::string::npos)
        << "no wire code in the message: " << r.error().message;
    EXPECT_EQ(after->quota_mem, 1000u) << c.what << ": nothing written";
    EXPECT_EQ(after->quota_cpu, 10u) << c.what << ": nothing written";
  }
  EXPECT_EQ(after->usage_mem, 400u) << "existing leases are never revoked by set-quota";
}

INSTANTIATE_TEST_SUITE_P(Table, QuotaTest,
                         testing::Values(QuotaCase{"raise both", 2000, 20, false, true},
                                         QuotaCase{"equal to usage", 400, 4, false, true},
                                         QuotaCase{"0 means unlimited", 0, 0, false, true},
                                         QuotaCase{"mem below usage", 399, 10, false, false},
                                         QuotaCase{"cpu below usage", 1000, 3, false, false},
                                         QuotaCase{"both below usage", 1, 1, false, false},
                                         QuotaCase{"mem below usage, forced", 399, 10, true, true},
                                         QuotaCase{"both below usage, forced", 1, 1, true, true}));

TEST_F(StoreTest, QuotaOfUnknownTenantIsNotFound) {
  auto r = store_->set_quota("ghost", 1, 1, false, now_, audit("admin", "a", "set-quota"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::tenant_not_found);
}

TEST_F(StoreTest, MintBeyondQuotaIsRefused) {
  tenant("acme", 1000, 10);
  mint("acme", 900, 1);
  auto r = store_->mint_lease("acme", 200, 1, 600, "h", "node-0", now_, audit("lease", "t", "m"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::quota_exceeded);
  EXPECT_EQ(store_->get_tenant("acme", now_)->usage_mem, 900u);
}

// Every store refusal carries its domain code and a human message with no "code: " prefix.
TEST_F(StoreTest, RefusalsCarryDomainCodesAndHumanMessages) {
  auto acme = tenant("acme", 100, 2);
  auto l = mint("acme", 50, 1);
  auto other = mint("acme", 10, 1);
  ASSERT_TRUE(store_->fence_lease(other.lease_id, "r", now_, audit("a", "p", "fence")));
  ASSERT_TRUE(store_->create_admin_token("ops", "fabric-admin", "d1", now_, audit("a", "p", "t")));
  struct Case {
    const char* what;
    Errc code;
    std::function<Error()> run;
  };
  auto a = [&] { return audit("admin", "p", "x"); };
  std::vector<Case> cases = {
      {"duplicate tenant", Errc::tenant_exists,
       [&] { return store_->create_tenant("acme", 0, 0, "", now_, a()).error(); }},
      {"unknown tenant", Errc::tenant_not_found,
       [&] { return store_->get_tenant("ghost", now_).error(); }},
      {"unknown tenant id", Errc::tenant_not_found,
       [&] { return store_->set_tenant_status(999, "active", now_, a()).error(); }},
      {"delete with leases", Errc::tenant_has_active_leases,
       [&] { return store_->delete_tenant("acme", false, now_, a()).error(); }},
      {"quota below usage", Errc::quota_below_usage,
       [&] { return store_->set_quota("acme", 1, 0, false, now_, a()).error(); }},
      {"quota exceeded", Errc::quota_exceeded,
       [&] { return store_->mint_lease("acme", 60, 0, 60, "h", "n", now_, a()).error(); }},
      {"unknown lease", Errc::lease_not_found,
       [&] { return store_->get_lease("0123456789abcdef").error(); }},
      {"release a fenced lease", Errc::lease_not_active,
       [&] { return store_->release_lease(other.lease_id, now_, a()).error(); }},
      {"unfence an active lease", Errc::lease_not_fenced,
       [&] { return store_->unfence_lease(l.lease_id, now_, a()).error(); }},
      {"duplicate admin token", Errc::token_exists,
       [&] { return store_->create_admin_token("ops", "fabric-admin", "d2", now_, a()).error(); }},
  };
  for (auto& c : cases) {
    Error e = c.run();
    EXPECT_EQ(e.code, c.code) << c.what << ": " << e.message;
    EXPECT_EQ(split_wire_code(e.message).first, "") << c.what << ": " << e.message;
    EXPECT_EQ(e.message.find("--"), std::string::npos) << c.what << ": no CLI flag named";
    EXPECT_FALSE(e.message.empty()) << c.what;
  }
  EXPECT_EQ(store_->get_tenant("acme", now_)->active_leases, 2) << "nothing changed";
  (void)acme;
}

struct DeleteCase {
  const char* what;
  int leases;
  bool expire;  // the leases have expired by the time of the delete
  bool force;
  bool ok;
  std::int64_t released;
};

class DeleteTest : public StoreTest, public testing::WithParamInterface<DeleteCase> {};

TEST_P(DeleteTest, ActiveLeasesNeedForce) {
  const DeleteCase& c = GetParam();
  tenant("acme", 0, 0);
  tenant("beta", 0, 0);
  std::vector<admin::Lease> leases;
  for (int i = 0; i < c.leases; ++i) leases.push_back(mint("acme", 10, 1, 60));
  mint("beta", 10, 1, 6000);
  std::int64_t when = c.expire ? now_ + 120 : now_;
  auto r = store_->delete_tenant("acme", c.force, when, audit("admin", "a", "delete"));
  if (c.ok) {
    ASSERT_TRUE(r) << c.what << ": " << r.error().message;
    EXPECT_EQ(*r, c.released) << c.what;
    EXPECT_FALSE(store_->get_tenant("acme", when)) << c.what;
    for (auto& l : leases) {
      auto got = store_->get_lease(l.lease_id);
      if (got) {
        EXPECT_NE(got->state, "active") << c.what;
      }
    }
  } else {
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, Errc::tenant_has_active_leases);
    auto t = store_->get_tenant("acme", when);
    ASSERT_TRUE(t) << "nothing deleted";
    EXPECT_EQ(t->active_leases, c.leases);
  }
  // The other tenant is untouched either way.
  auto b = store_->get_tenant("beta", when);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->active_leases, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DeleteTest,
    testing::Values(DeleteCase{"no leases", 0, false, false, true, 0},
                    DeleteCase{"one active lease", 1, false, false, false, 0},
                    DeleteCase{"three active leases", 3, false, false, false, 0},
                    DeleteCase{"active leases, forced", 3, false, true, true, 3},
                    DeleteCase{"only expired leases (none active to release)", 2, true, false, true,
                               0}));

TEST_F(StoreTest, DeleteUnknownTenantIsNotFound) {
  auto r = store_->delete_tenant("ghost", true, now_, audit("admin", "a", "delete"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::tenant_not_found);
}

TEST_F(StoreTest, FenceHoldsCapacityUntilUnfence) {
  tenant("acme", 1000, 10);
  auto l = mint("acme", 300, 2);
  auto f = store_->fence_lease(l.lease_id, "fenced", now_, audit("admin", "a", "fence"));
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->lease_id, l.lease_id);
  EXPECT_EQ(f->fence_reason, "fenced");
  auto listed = store_->list_fenced();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].lease_id, l.lease_id);
  // Fencing twice, or releasing a fenced lease, is a conflict.
  auto again = store_->fence_lease(l.lease_id, "fenced", now_, audit("admin", "a", "fence"));
  EXPECT_FALSE(again);
  auto rel = store_->release_lease(l.lease_id, now_, audit("lease", "t", "release"));
  EXPECT_FALSE(rel);
  if (!rel) {
    EXPECT_EQ(rel.error().code, Errc::lease_not_active);
  }
  EXPECT_EQ(store_->get_tenant("acme", now_)->usage_mem, 300u) << "a fence holds its capacity";

  auto u = store_->unfence_lease(l.lease_id, now_, audit("admin", "a", "unfence"));
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_TRUE(store_->list_fenced()->empty());
  EXPECT_EQ(store_->get_tenant("acme", now_)->usage_mem, 0u) << "unfence releases the capacity";
  EXPECT_NE(store_->get_lease(l.lease_id)->state, "active");

  auto twice = store_->unfence_lease(l.lease_id, now_, audit("admin", "a", "unfence"));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::lease_not_fenced);
}

TEST_F(StoreTest, UnfenceOfAnActiveOrUnknownLeaseIsRefused) {
  tenant("acme", 0, 0);
  auto l = mint("acme", 1, 1);
  auto r = store_->unfence_lease(l.lease_id, now_, audit("admin", "a", "unfence"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::lease_not_fenced);
  EXPECT_EQ(store_->get_lease(l.lease_id)->state, "active") << "nothing changed";
  auto unknown = store_->unfence_lease("0123456789abcdef", now_, audit("admin", "a", "unfence"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::lease_not_found);
}

// ---- audit filters ----

struct AuditCase {
  const char* what;
  AuditFilter filter;
  std::vector<std::string> want_actions;  // newest first
};

class AuditTest : public StoreTest, public testing::WithParamInterface<AuditCase> {};

TEST_P(AuditTest, Filters) {
  // Six entries at t = 100..105 (the store keeps them in the order given).
  struct Row {
    std::int64_t t;
    const char* kind;
    const char* principal;
    const char* outcome;
    const char* action;
  };
  for (const Row& r : std::vector<Row>{
           {100, "auth", "urn:fabricbios:tenant:acme", "denied", "a0"},
           {101, "admin", "urn:fabricbios:fabric-admin", "allowed", "a1"},
           {102, "lease", "urn:fabricbios:tenant:acme", "allowed", "a2"},
           {103, "auth", "unauthenticated", "denied", "a3"},
           {104, "tenant", "token:beta", "error", "a4"},
           {105, "admin", "urn:fabricbios:fabric-observer", "allowed", "a5"},
       }) {
    admin::AuditEntry e;
    e.time = r.t;
    e.kind = r.kind;
    e.principal = r.principal;
    e.outcome = r.outcome;
    e.action = r.action;
    ASSERT_TRUE(store_->audit_now(e));
  }
  const AuditCase& c = GetParam();
  auto got = store_->query_audit(c.filter);
  ASSERT_TRUE(got) << got.error().message;
  std::vector<std::string> actions;
  for (auto& e : *got) actions.push_back(e.action);
  EXPECT_EQ(actions, c.want_actions) << c.what;
}

AuditFilter af(std::vector<std::string> kinds = {}, std::string principal = {},
               std::vector<std::string> outcomes = {}, std::optional<std::int64_t> since = {},
               std::optional<std::int64_t> until = {}, std::int64_t skip = 0,
               std::int64_t limit = 100) {
  AuditFilter f;
  f.kinds = std::move(kinds);
  f.principal = std::move(principal);
  f.outcomes = std::move(outcomes);
  f.since = since;
  f.until = until;
  f.skip = skip;
  f.limit = limit;
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AuditTest,
    testing::Values(
        AuditCase{"everything, newest first", af(), {"a5", "a4", "a3", "a2", "a1", "a0"}},
        AuditCase{"one kind", af({"auth"}), {"a3", "a0"}},
        AuditCase{"two kinds", af({"auth", "tenant"}), {"a4", "a3", "a0"}},
        AuditCase{"unknown kind", af({"nope"}), {}},
        AuditCase{"principal substring", af({}, "tenant:acme"), {"a2", "a0"}},
        AuditCase{"principal is not a pattern", af({}, "%"), {}},
        AuditCase{"principal with SQL quote", af({}, "' OR '1'='1"), {}},
        AuditCase{"outcome", af({}, "", {"denied"}), {"a3", "a0"}},
        AuditCase{"outcomes", af({}, "", {"denied", "error"}), {"a4", "a3", "a0"}},
        AuditCase{"since inclusive", af({}, "", {}, 104), {"a5", "a4"}},
        AuditCase{"until inclusive", af({}, "", {}, {}, 101), {"a1", "a0"}},
        AuditCase{"window", af({}, "", {}, 101, 103), {"a3", "a2", "a1"}},
        AuditCase{"empty window", af({}, "", {}, 104, 101), {}},
        AuditCase{"kind and outcome", af({"admin"}, "", {"allowed"}), {"a5", "a1"}},
        AuditCase{"limit", af({}, "", {}, {}, {}, 0, 2), {"a5", "a4"}},
        AuditCase{"skip and limit", af({}, "", {}, {}, {}, 2, 2), {"a3", "a2"}},
        AuditCase{"skip past the end", af({}, "", {}, {}, {}, 10, 2), {}},
        AuditCase{"huge limit is capped, not refused",
                  af({}, "", {}, {}, {}, 0, 1'000'000'000),
                  {"a5", "a4", "a3", "a2", "a1", "a0"}}));

TEST_F(StoreTest, AuditLimitIsCapped) {
  for (int i = 0; i < 1100; ++i) {
    admin::AuditEntry e;
    e.time = 1000 + i;
    e.kind = "auth";
    e.principal = "p";
    e.outcome = "denied";
    e.action = "x";
    store_->audit(e);
  }
  auto got = store_->query_audit(af({}, "", {}, {}, {}, 0, 5000));
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->size(), static_cast<size_t>(kMaxAuditLimit));
}

TEST_F(StoreTest, TenantResolutionRules) {
  tenant("acme", 0, 0);
  auto beta = tenant("beta", 0, 0);
  tenant("42", 0, 0);  // a name that is all digits is only reachable by id rules
  auto by_id = store_->resolve_tenant(std::to_string(beta.id), now_);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->name, "beta");
  EXPECT_EQ(store_->resolve_tenant("acme", now_)->name, "acme");
  for (const char* miss : {"ACME", "acm", "acme ", "999", "42"}) {
    auto r = store_->resolve_tenant(miss, now_);
    ASSERT_FALSE(r) << miss;
    EXPECT_EQ(r.error().code, Errc::tenant_not_found) << miss;
    EXPECT_EQ(r.error().message, std::string("No tenant matched '") + miss + "'") << miss;
  }
}

// ---- audit entries survive a busy or failing database ----

// HTTP status and audit outcome per error code: one mapping for the server's answer and the audit
// row of a refused write.
struct OutcomeCase {
  Errc code;
  int status;
  const char* outcome;
};

class OutcomeTest : public testing::TestWithParam<OutcomeCase> {};

TEST_P(OutcomeTest, StatusAndOutcomeAgree) {
  const OutcomeCase& c = GetParam();
  EXPECT_EQ(http_status(c.code), c.status) << errc_name(c.code);
  EXPECT_EQ(audit_outcome(http_status(c.code)), c.outcome) << errc_name(c.code);
  EXPECT_EQ(audit_outcome(c.code), c.outcome) << errc_name(c.code);
}

INSTANTIATE_TEST_SUITE_P(
    Table, OutcomeTest,
    testing::Values(
        OutcomeCase{Errc::invalid_input, 400, "error"}, OutcomeCase{Errc::usage, 400, "error"},
        OutcomeCase{Errc::unauthorized, 401, "denied"}, OutcomeCase{Errc::forbidden, 403, "denied"},
        OutcomeCase{Errc::tenant_not_found, 404, "error"}, OutcomeCase{Errc::exists, 409, "error"},
        OutcomeCase{Errc::conflict, 409, "error"}, OutcomeCase{Errc::io, 500, "error"},
        OutcomeCase{Errc::storage, 500, "error"}, OutcomeCase{Errc::tenant_exists, 409, "error"},
        OutcomeCase{Errc::quota_exceeded, 409, "error"},
        OutcomeCase{Errc::lease_not_found, 404, "error"},
        OutcomeCase{Errc::limit_exceeded, 400, "error"}, OutcomeCase{Errc::bad_name, 400, "error"},
        OutcomeCase{Errc::internal, 500, "error"}));

TEST(Outcome, SuccessIsAllowed) {
  EXPECT_EQ(audit_outcome(200), "allowed");
  EXPECT_EQ(audit_outcome(201), "allowed");
}

// A second connection to the same database file, as another process (sqlite3, `grafos-registry
// tenant ...`) would open it.
class OtherConnection {
 public:
  explicit OtherConnection(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~OtherConnection() { sqlite3_close(db_); }
  OtherConnection(const OtherConnection&) = delete;
  OtherConnection& operator=(const OtherConnection&) = delete;
  void exec(const char* sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << sql;
    sqlite3_free(err);
  }
  /// The first column of the first row of `sql`.
  std::int64_t scalar(const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &st, nullptr), SQLITE_OK) << sql;
    std::int64_t v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

class AuditDurabilityTest : public StoreTest {
 protected:
  std::string db_path() const { return dir_ + "/registry.db"; }
  admin::AuditEntry entry(const std::string& action) {
    admin::AuditEntry e;
    e.time = now_;
    e.kind = "auth";
    e.principal = "urn:fabricbios:tenant:acme";
    e.action = action;
    e.outcome = "denied";
    return e;
  }
  // The committed entries with this action.
  std::vector<admin::AuditEntry> committed(const std::string& action) {
    auto all = store_->query_audit(af({}, "", {}, {}, {}, 0, kMaxAuditLimit));
    EXPECT_TRUE(all) << all.error().message;
    std::vector<admin::AuditEntry> out;
    if (all)
      for (auto& e : *all)
        if (e.action == action) out.push_back(e);
    return out;
  }
  std::int64_t tenant_count() {
    auto ts = store_->list_tenants(now_);
    EXPECT_TRUE(ts);
    return ts ? static_cast<std::int64_t>(ts->size()) : -1;
  }
};

TEST_F(AuditDurabilityTest, FlushKeepsEntriesWhileAnotherConnectionHoldsTheWriteLock) {
  auto acme = tenant("acme", 0, 0);
  OtherConnection other(db_path());
  other.exec("BEGIN IMMEDIATE");
  store_->audit(entry("first"));
  store_->touch_tenant(acme.id, now_ + 5);
  store_->flush();  // busy: nothing can be committed
  EXPECT_EQ(store_->queued_audit(), 1u) << "the entry stays queued, not dropped";
  store_->audit(entry("second"));
  store_->flush();
  EXPECT_EQ(store_->queued_audit(), 2u);
  other.exec("COMMIT");

  store_->flush();
  EXPECT_EQ(store_->queued_audit(), 0u);
  auto first = committed("first");
  auto second = committed("second");
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_LT(first[0].id, second[0].id) << "a retried batch keeps its order";
  auto t = store_->get_tenant("acme", now_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->last_used, now_ + 5) << "the last-used time is kept and retried too";
}

TEST_F(AuditDurabilityTest, FlushRetriesAfterAFailedCommit) {
  OtherConnection other(db_path());
  // A deferred foreign-key violation makes COMMIT itself fail while entry 'poison' is in the
  // batch; dropping the trigger lets the next flush through.
  other.exec(
      "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
      "CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
      "CREATE TRIGGER poison AFTER INSERT ON audit WHEN NEW.action = 'poison'"
      " BEGIN INSERT INTO child VALUES(42); END;");
  store_->audit(entry("plain"));
  store_->audit(entry("poison"));
  store_->flush();
  EXPECT_EQ(store_->queued_audit(), 2u) << "a failed COMMIT keeps the whole batch queued";
  other.exec("DROP TRIGGER poison");
  store_->flush();
  EXPECT_EQ(store_->queued_audit(), 0u);
  EXPECT_EQ(committed("plain").size(), 1u);
  EXPECT_EQ(committed("poison").size(), 1u);
}

TEST_F(AuditDurabilityTest, QueuedEntriesGetTheirTenantIdByName) {
  auto acme = tenant("acme", 0, 0);
  store_->audit(entry("by-name"), "acme");
  store_->audit(entry("unknown-name"), "ghost");
  auto explicit_id = entry("explicit-id");
  explicit_id.tenant_id = 77;
  store_->audit(explicit_id, "acme");
  store_->audit(entry("no-tenant"));
  auto by_name = committed("by-name");
  ASSERT_EQ(by_name.size(), 1u);
  EXPECT_EQ(by_name[0].tenant_id, acme.id);
  auto unknown = committed("unknown-name");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_FALSE(unknown[0].tenant_id.has_value());
  auto given = committed("explicit-id");
  ASSERT_EQ(given.size(), 1u);
  EXPECT_EQ(given[0].tenant_id, 77) << "an id already set wins over the name";
  auto none = committed("no-tenant");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_FALSE(none[0].tenant_id.has_value());
}

// A write that fails at BEGIN, at its audit row or at COMMIT is rolled back and still leaves an
// audit row, outcome "error" (the caller gets 500).
enum class Fault { locked, audit_insert_fails, commit_fails };

struct WriteFaultCase {
  const char* what;
  Fault fault;
};

class WriteFaultTest : public AuditDurabilityTest,
                       public testing::WithParamInterface<WriteFaultCase> {};

TEST_P(WriteFaultTest, FailedWriteIsRolledBackAndAudited) {
  const WriteFaultCase& c = GetParam();
  OtherConnection other(db_path());
  switch (c.fault) {
    case Fault::locked:
      other.exec("BEGIN IMMEDIATE");
      break;
    case Fault::audit_insert_fails:
      // Only the mutation's own row (outcome allowed) is refused; the queued error row is not.
      other.exec(
          "CREATE TRIGGER no_allowed BEFORE INSERT ON audit WHEN NEW.outcome = 'allowed'"
          " BEGIN SELECT RAISE(ABORT, 'audit table refuses the row'); END;");
      break;
    case Fault::commit_fails:
      other.exec(
          "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
          "CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
          "CREATE TRIGGER poison AFTER INSERT ON audit WHEN NEW.outcome = 'allowed'"
          " BEGIN INSERT INTO child VALUES(42); END;");
      break;
  }
  auto r = store_->create_tenant("acme", 0, 0, "", now_,
                                 audit("tenant", "urn:fabricbios:fabric-admin", "create-acme"));
  ASSERT_FALSE(r) << c.what;
  EXPECT_EQ(http_status(r.error().code), 500) << c.what << ": " << r.error().message;
  if (c.fault == Fault::locked) other.exec("COMMIT");
  EXPECT_EQ(tenant_count(), 0) << c.what << ": the change was rolled back";
  auto rows = committed("create-acme");
  ASSERT_EQ(rows.size(), 1u) << c.what << ": the failed write has its audit row";
  EXPECT_EQ(rows[0].outcome, "error") << c.what;
  EXPECT_EQ(rows[0].principal, "urn:fabricbios:fabric-admin") << c.what;
  EXPECT_FALSE(rows[0].detail.empty()) << c.what << ": the detail says why";
}

INSTANTIATE_TEST_SUITE_P(
    Table, WriteFaultTest,
    testing::Values(WriteFaultCase{"BEGIN on a locked database", Fault::locked},
                    WriteFaultCase{"the audit insert fails", Fault::audit_insert_fails},
                    WriteFaultCase{"COMMIT fails", Fault::commit_fails}));

// A write the store refuses is audited with the outcome of the status the caller gets.
TEST_F(AuditDurabilityTest, RefusedWritesAreAuditedWithTheCallersOutcome) {
  auto acme = tenant("acme", 0, 0);
  ASSERT_TRUE(store_->set_tenant_status(acme.id, "disabled", now_, audit("tenant", "a", "off")));
  struct Case {
    const char* action;
    int status;
    const char* outcome;
    std::function<Error()> run;
  };
  std::vector<Case> cases = {
      {"mint-disabled", 403, "denied",
       [&] {
         return store_
             ->mint_lease("acme", 1, 0, 60, "h", "node-0", now_,
                          audit("lease", "p", "mint-disabled"))
             .error();
       }},
      {"quota-ghost", 404, "error",
       [&] {
         return store_->set_quota("ghost", 1, 1, false, now_, audit("t", "p", "quota-ghost"))
             .error();
       }},
      {"create-duplicate", 409, "error",
       [&] {
         return store_->create_tenant("acme", 0, 0, "", now_, audit("t", "p", "create-duplicate"))
             .error();
       }},
  };
  for (auto& c : cases) {
    Error e = c.run();
    EXPECT_EQ(http_status(e.code), c.status) << c.action << ": " << e.message;
    auto rows = committed(c.action);
    ASSERT_EQ(rows.size(), 1u) << c.action;
    EXPECT_EQ(rows[0].outcome, c.outcome) << c.action;
    EXPECT_EQ(rows[0].detail, e.message) << c.action;
  }
  auto mint_rows = committed("mint-disabled");
  ASSERT_EQ(mint_rows.size(), 1u);
  EXPECT_EQ(mint_rows[0].tenant_id, acme.id) << "the refused mint names its tenant";
}

// ---- quantities: documented maxima, and usage that cannot overflow ----

struct LimitCase {
  const char* what;
  std::uint64_t mem, cpu;
  bool ok;
};

class LeaseLimitTest : public StoreTest, public testing::WithParamInterface<LimitCase> {};

TEST_P(LeaseLimitTest, LeaseAboveTheMaximumIsRefusedAndNothingIsWritten) {
  const LimitCase& c = GetParam();
  tenant("acme", 0, 0);
  auto r = store_->mint_lease("acme", c.mem, c.cpu, 600, "h", "node-0", now_,
                              audit("lease", "p", "mint"));
  auto t = store_->get_tenant("acme", now_);
  ASSERT_TRUE(t);
  if (c.ok) {
    ASSERT_TRUE(r) << c.what << ": " << r.error().message;
    EXPECT_EQ(t->active_leases, 1) << c.what;
    return;
  }
  ASSERT_FALSE(r) << c.what;
  EXPECT_EQ(r.error().code, Errc::limit_exceeded) << c.what;
  std::string max = std::to_string(c.mem > kMaxMem ? kMaxMem : kMaxCpu);
  EXPECT_NE(r.error().message.find(max), std::string::npos)
      << c.what << ": the message names the maximum: " << r.error().message;
  EXPECT_EQ(t->active_leases, 0) << c.what << ": nothing written";
}

INSTANTIATE_TEST_SUITE_P(Table, LeaseLimitTest,
                         testing::Values(LimitCase{"at both maxima", kMaxMem, kMaxCpu, true},
                                         LimitCase{"mem one above", kMaxMem + 1, 0, false},
                                         LimitCase{"cpu one above", 0, kMaxCpu + 1, false},
                                         LimitCase{"cpu INT64_MAX", 0, 9223372036854775807u, false},
                                         LimitCase{"mem INT64_MAX", 9223372036854775807u, 0, false},
                                         LimitCase{"cpu UINT64_MAX", 0, UINT64_MAX, false}));

class QuotaLimitTest : public StoreTest, public testing::WithParamInterface<LimitCase> {};

TEST_P(QuotaLimitTest, QuotaAboveTheMaximumIsRefusedAndNothingIsWritten) {
  const LimitCase& c = GetParam();
  tenant("acme", 100, 1);
  auto set = store_->set_quota("acme", c.mem, c.cpu, true, now_, audit("admin", "p", "quota"));
  auto created = store_->create_tenant("beta", c.mem, c.cpu, "", now_, audit("admin", "p", "c"));
  auto t = store_->get_tenant("acme", now_);
  ASSERT_TRUE(t);
  if (c.ok) {
    EXPECT_TRUE(set) << c.what << ": " << set.error().message;
    EXPECT_TRUE(created) << c.what << ": " << created.error().message;
    return;
  }
  ASSERT_FALSE(set) << c.what;
  ASSERT_FALSE(created) << c.what;
  EXPECT_EQ(set.error().code, Errc::limit_exceeded) << c.what;
  EXPECT_EQ(created.error().code, Errc::limit_exceeded) << c.what;
  EXPECT_EQ(t->quota_mem, 100u) << c.what << ": nothing written";
  EXPECT_EQ(t->quota_cpu, 1u) << c.what << ": nothing written";
  EXPECT_FALSE(store_->get_tenant("beta", now_)) << c.what << ": no tenant created";
}

INSTANTIATE_TEST_SUITE_P(Table, QuotaLimitTest,
                         testing::Values(LimitCase{"at both maxima", kMaxMem, kMaxCpu, true},
                                         LimitCase{"mem one above", kMaxMem + 1, 0, false},
                                         LimitCase{"cpu one above", 0, kMaxCpu + 1, false},
                                         LimitCase{"cpu INT64_MAX", 0, 9223372036854775807u,
                                                   false}));

// A database written before the maxima (or by hand) may hold leases whose sum overflows 64 bits:
// listing, set-quota and a forced delete still work, usage saturates instead of failing.
TEST_F(AuditDurabilityTest, UsageOfHugeLeasesSaturatesInsteadOfFailing) {
  auto acme = tenant("acme", 0, 0);
  tenant("beta", 0, 0);
  {
    OtherConnection other(db_path());
    std::string id = std::to_string(acme.id);
    for (const char* row : {"('00000000000000a1', 9223372036854775807)", "('00000000000000a2', 1)",
                            "('00000000000000a3', 9223372036854775807)"}) {
      std::string sql = std::string(
                            "INSERT INTO leases(lease_id, cpu, tenant_id, tenant, node_id,"
                            " resource_kind, mem, holder, state, created_at, expires_at) SELECT ") +
                        "column1, column2, " + id +
                        ", 'acme', 'n', 'cpu', column2, 'h', 'active', 0, " +
                        std::to_string(now_ + 600) + " FROM (VALUES " + row + ")";
      other.exec(sql.c_str());
    }
  }
  auto list = store_->list_tenants(now_);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].usage_cpu, 9223372036854775807u) << "saturated";
  EXPECT_EQ((*list)[0].usage_mem, 9223372036854775807u) << "saturated";
  EXPECT_EQ((*list)[0].active_leases, 3);
  EXPECT_EQ((*list)[1].usage_cpu, 0u) << "the other tenant is unaffected";
  auto versioned = store_->list_tenants_versioned(now_);
  ASSERT_TRUE(versioned) << versioned.error().message;
  auto q = store_->set_quota("acme", 10, 10, true, now_, audit("admin", "p", "quota"));
  ASSERT_TRUE(q) << q.error().message;
  auto below = store_->set_quota("acme", 10, 10, false, now_, audit("admin", "p", "quota"));
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().code, Errc::quota_below_usage);
  auto mint = store_->mint_lease("acme", 1, 1, 60, "h", "n", now_, audit("lease", "p", "m"));
  ASSERT_FALSE(mint);
  EXPECT_EQ(mint.error().code, Errc::quota_exceeded);
  auto del = store_->delete_tenant("acme", true, now_, audit("admin", "p", "delete"));
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_EQ(*del, 3);
}

// ---- hostile bytes in the audit log ----

// A request path with control bytes or invalid UTF-8 (decoded %1b, %ff%fe) is stored escaped in
// every text field, reads back as valid UTF-8 that serialises as JSON, and old raw rows are
// escaped on the way out.
TEST_F(AuditDurabilityTest, HostileBytesAreStoredEscapedAndEveryReadSerialises) {
  const std::string hostile = std::string("GET /api/v1/\x1b[2K\xff\xfe\\x") + '\0' + "end";
  const std::string stored = "GET /api/v1/\\x1b[2K\\xff\\xfe\\\\x\\x00end";
  admin::AuditEntry e;
  e.time = now_;
  e.kind = "auth";
  e.principal = hostile;
  e.action = hostile;
  e.outcome = "denied";
  e.detail = hostile;
  store_->audit(e);                   // queued (refusals)
  ASSERT_TRUE(store_->audit_now(e));  // immediate (CLI)
  store_->flush();
  {
    OtherConnection other(db_path());
    EXPECT_EQ(other.scalar("SELECT COUNT(*) FROM audit WHERE principal = "
                           "'GET /api/v1/\\x1b[2K\\xff\\xfe\\\\x\\x00end' AND action = principal "
                           "AND detail = principal"),
              2)
        << "stored escaped in principal, action and detail";
    EXPECT_EQ(other.scalar("SELECT COUNT(*) FROM audit WHERE instr(principal, char(27)) > 0"), 0);
    // A row as the landed build wrote it: raw bytes.
    other.exec(
        "INSERT INTO audit(time, kind, principal, action, outcome, detail) VALUES(1, 'auth',"
        " CAST(X'1b5b324bfffe' AS TEXT), 'old', 'denied', CAST(X'ff' AS TEXT))");
  }
  auto rows = store_->query_audit(af());
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  int escaped = 0;
  for (auto& r : *rows) {
    EXPECT_NO_THROW((void)nlohmann::json(r).dump()) << r.action;
    if (r.action == "old") {
      EXPECT_EQ(r.principal, "\\x1b[2K\\xff\\xfe");
      EXPECT_EQ(r.detail, "\\xff");
    } else {
      EXPECT_EQ(r.principal, stored);
      EXPECT_EQ(r.action, stored);
      EXPECT_EQ(r.detail, stored);
      ++escaped;
    }
  }
  EXPECT_EQ(escaped, 2);
}

// ---- the queue of refused requests' audit entries is bounded ----

// While another connection holds the write lock (a real busy database), refused traffic beyond
// kMaxQueuedRefused entries is dropped instead of growing the queue; allowed entries are kept; when
// the writer catches up, one entry records how many were dropped.
TEST_F(AuditDurabilityTest, RefusedEntriesAreBoundedWhileTheDatabaseIsBusy) {
  OtherConnection other(db_path());
  other.exec("BEGIN IMMEDIATE");
  const std::size_t extra = 50;
  for (std::size_t i = 0; i < kMaxQueuedRefused + extra; ++i) store_->audit(entry("refused"));
  auto allowed = entry("allowed-read");
  allowed.outcome = "allowed";
  store_->audit(allowed);
  EXPECT_EQ(store_->queued_audit(), kMaxQueuedRefused + 1) << "the queue stops at the bound";
  EXPECT_EQ(store_->dropped_audit(), extra);
  store_->flush();  // busy: nothing committed, nothing lost beyond the bound
  EXPECT_EQ(store_->queued_audit(), kMaxQueuedRefused + 1);
  store_->audit(entry("refused"));
  EXPECT_EQ(store_->dropped_audit(), extra + 1) << "still full after a failed flush";
  other.exec("COMMIT");

  store_->flush();
  EXPECT_EQ(store_->queued_audit(), 0u);
  EXPECT_EQ(store_->dropped_audit(), 0u);
  EXPECT_EQ(other.scalar("SELECT COUNT(*) FROM audit WHERE action = 'refused'"),
            static_cast<std::int64_t>(kMaxQueuedRefused));
  EXPECT_EQ(other.scalar("SELECT COUNT(*) FROM audit WHERE action = 'allowed-read'"), 1);
  EXPECT_EQ(
      other.scalar("SELECT COUNT(*) FROM audit WHERE detail LIKE '51 audit entries dropped%'"), 1)
      << "one entry counts what was dropped";
  // Caught up: refused entries are queued again, and no further notice is written.
  store_->audit(entry("refused"));
  store_->flush();
  EXPECT_EQ(other.scalar("SELECT COUNT(*) FROM audit WHERE action = 'refused'"),
            static_cast<std::int64_t>(kMaxQueuedRefused) + 1);
  EXPECT_EQ(other.scalar("SELECT COUNT(*) FROM audit WHERE detail LIKE '%entries dropped%'"), 1);
}

TEST_F(AuditDurabilityTest, RefusedEntriesAreBoundedByBytes) {
  OtherConnection other(db_path());
  other.exec("BEGIN IMMEDIATE");
  auto big = entry("big");
  big.detail.assign(1 << 20, 'x');  // 1 MiB each: the byte budget binds long before the count
  for (int i = 0; i < 40; ++i) store_->audit(big);
  EXPECT_LE(store_->queued_audit() * (std::size_t{1} << 20), kMaxQueuedRefusedBytes);
  EXPECT_GE(store_->queued_audit(), 15u);
  EXPECT_EQ(store_->queued_audit() + store_->dropped_audit(), 40u);
  other.exec("COMMIT");
  store_->flush();
  EXPECT_EQ(store_->queued_audit(), 0u);
}

// A failed mutation's audit entry is queued outside the bound: it is never dropped.
TEST_F(AuditDurabilityTest, FailedMutationEntriesAreNeverDropped) {
  OtherConnection other(db_path());
  other.exec("BEGIN IMMEDIATE");
  for (std::size_t i = 0; i < kMaxQueuedRefused + 1; ++i) store_->audit(entry("refused"));
  auto r = store_->create_tenant("acme", 0, 0, "", now_, audit("tenant", "p", "create-acme"));
  ASSERT_FALSE(r);
  other.exec("COMMIT");
  store_->flush();
  EXPECT_EQ(committed("create-acme").size(), 1u);
}

// ---- provisioning (grafos-registry tenant add / admin-token add) ----

struct ProvisionCase {
  const char* what;
  std::string name;
  std::uint64_t mem, cpu;
  Errc code;
};

class ProvisionRefusalTest : public testing::TestWithParam<ProvisionCase> {};

// A refused name or quota is reported with its code and no database file is created.
TEST_P(ProvisionRefusalTest, NothingIsCreated) {
  const ProvisionCase& c = GetParam();
  char tmpl[] = "/tmp/grafos-reg-prov.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  admin::AuditEntry a;
  a.kind = "token";
  a.principal = "cli";
  a.action = "tenant add";
  auto r = provision_tenant(dir + "/db", {c.name, c.mem, c.cpu}, 1, a);
  ASSERT_FALSE(r) << c.what;
  EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir + "/db")) << c.what;
  for (char ch : r.error().message)
    EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << c.what << ": no raw control byte";
  auto t = provision_admin_token(dir + "/db", {c.name, "fabric-admin"}, 1, a);
  if (c.code == Errc::bad_name) {
    ASSERT_FALSE(t) << c.what;
    EXPECT_EQ(t.error().code, Errc::bad_name) << c.what;
    EXPECT_FALSE(std::filesystem::exists(dir + "/db")) << c.what;
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProvisionRefusalTest,
    testing::Values(
        ProvisionCase{"space", "bad name", 0, 0, Errc::bad_name},
        ProvisionCase{"empty", "", 0, 0, Errc::bad_name},
        ProvisionCase{"escape byte", "a\x1b[2K", 0, 0, Errc::bad_name},
        ProvisionCase{"64 characters", std::string(64, 'a'), 0, 0, Errc::bad_name},
        ProvisionCase{"mem quota too large", "acme", kMaxMem + 1, 0, Errc::limit_exceeded},
        ProvisionCase{"cpu quota too large", "acme", 0, kMaxCpu + 1, Errc::limit_exceeded}));

TEST(Provision, TenantAndAdminTokenStoreOnlyDigests) {
  char tmpl[] = "/tmp/grafos-reg-prov.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, db = dir + "/db";
  admin::AuditEntry a;
  a.kind = "token";
  a.principal = "cli";
  a.action = "add";
  auto t = provision_tenant(db, {"acme", 1024, 2}, 1, a);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->token.view().starts_with("gfr_"));
  EXPECT_EQ(t->token.view().size(), 68u);
  EXPECT_EQ(t->tenant.name, "acme");
  EXPECT_EQ(t->tenant.quota_mem, 1024u);
  auto dup = provision_tenant(db, {"acme", 0, 0}, 1, a);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::tenant_exists);
  auto at = provision_admin_token(db, {"ops", "fabric-observer"}, 1, a);
  ASSERT_TRUE(at) << at.error().message;
  EXPECT_TRUE(at->token.view().starts_with("gfa_"));
  EXPECT_EQ(at->role, "fabric-observer");
  auto bad_role = provision_admin_token(db, {"ops2", "root"}, 1, a);
  ASSERT_FALSE(bad_role);
  EXPECT_EQ(bad_role.error().code, Errc::invalid_input);
  auto store = Store::open(db, false);
  ASSERT_TRUE(store);
  auto owner = (*store)->find_token(token_digest(t->token.view()));
  ASSERT_TRUE(owner && *owner);
  EXPECT_EQ((*owner)->name, "acme");
  auto admin_owner = (*store)->find_token(token_digest(at->token.view()));
  ASSERT_TRUE(admin_owner && *admin_owner);
  EXPECT_EQ((*admin_owner)->role, "fabric-observer");
  EXPECT_FALSE(*(*store)->find_token(token_digest("gfa_nope")));
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace grafos::registry
