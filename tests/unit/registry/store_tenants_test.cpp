// Tenants on a real SQLite database: quota below usage, delete with active leases, resolution
// rules, quota maxima, usage that saturates instead of overflowing, provisioning with tokens.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "registry/auth.hpp"

#include "registry/store.hpp"
#include "tests/unit/registry/store_test_support.hpp"

namespace grafos::registry {
namespace {

using namespace grafos::registry::test;

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
