// Leases on a real SQLite database: quota, fence and unfence, the documented maxima.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "registry/store.hpp"
#include "tests/unit/registry/store_test_support.hpp"

namespace grafos::registry {
namespace {

using namespace grafos::registry::test;

TEST_F(StoreTest, MintBeyondQuotaIsRefused) {
  tenant("acme", 1000, 10);
  mint("acme", 900, 1);
  auto r = store_->mint_lease("acme", 200, 1, 600, "h", "node-0", now_, audit("lease", "t", "m"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::quota_exceeded);
  EXPECT_EQ(store_->get_tenant("acme", now_)->usage_mem, 900u);
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

// ---- quantities: documented maxima, and usage that cannot overflow ----

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

}  // namespace
}  // namespace grafos::registry
