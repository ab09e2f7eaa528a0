// The store's errors: every refusal carries its domain code and a human message, and the
// (transitional) table from code to HTTP status, wire code and audit outcome.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "registry/store.hpp"
#include "registry/wire_errors.hpp"
#include "tests/unit/registry/store_test_support.hpp"

namespace grafos::registry {
namespace {

using namespace grafos::registry::test;

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
    EXPECT_FALSE(std::regex_search(e.message, std::regex("^[a-z_]+: ")))
        << c.what << ": a wire code prefix in " << e.message;
    EXPECT_EQ(e.message.find("--"), std::string::npos) << c.what << ": no CLI flag named";
    EXPECT_FALSE(e.message.empty()) << c.what;
  }
  EXPECT_EQ(store_->get_tenant("acme", now_)->active_leases, 2) << "nothing changed";
  (void)acme;
}

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
  EXPECT_EQ(to_wire(Error{c.code, "x"}).status, c.status) << errc_name(c.code);
  EXPECT_EQ(outcome_of(c.status), c.outcome) << errc_name(c.code);
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
  EXPECT_EQ(outcome_of(200), "allowed");
  EXPECT_EQ(outcome_of(201), "allowed");
}

}  // namespace
}  // namespace grafos::registry
