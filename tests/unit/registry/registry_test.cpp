// Unit tests of grafos-registry's library: the URN/role parsing, name grammars and tokens
// (registry/auth). The store's tests are in store_*_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <utility>

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

}  // namespace
}  // namespace grafos::registry
