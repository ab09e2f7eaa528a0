#include "pki/identity.hpp"

#include <gtest/gtest.h>

using namespace grafos;
using namespace grafos::pki;

namespace {

struct NameCase {
  std::string input;
  bool valid;
  std::string rule_fragment;  // part of the message that names the broken rule
};

TEST(Identity, TenantGrammar) {
  const NameCase cases[] = {
      {"acme", true, ""},
      {"A", true, ""},
      {"0tenant", true, ""},
      {"a.b_c-d", true, ""},
      {std::string(63, 'a'), true, ""},
      {std::string(64, 'a'), false, "it has 64 characters"},
      {"", false, "it is empty"},
      {"-acme", false, "starting with a letter or digit"},
      {".acme", false, "starting with a letter or digit"},
      {"ac:me", false, "character ':' at position 3"},
      {"ac/me", false, "character '/'"},
      {"ac me", false, "byte 0x20"},
      {"ac\tme", false, "byte 0x09"},
      {"acme%41", false, "character '%'"},
      {"caf\xc3\xa9", false, "byte 0xc3"},
      {"ac\nme", false, "byte 0x0a"},
  };
  for (const auto& c : cases) {
    auto r = make_tenant_identity(c.input);
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (!c.valid && !r) {
      EXPECT_EQ(r.error().code, Errc::invalid_input);
      EXPECT_NE(r.error().message.find(c.rule_fragment), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("1-63 characters"), std::string::npos);
      EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
    }
  }
}

TEST(Identity, ProviderGrammar) {
  const NameCase cases[] = {
      {"aws", true, ""},
      {"gcp-europe-1", true, ""},
      {"0", true, ""},
      {std::string(63, 'p'), true, ""},
      {std::string(64, 'p'), false, "64 characters"},
      {"", false, "empty"},
      {"AWS", false, "character 'A'"},
      {"aws_1", false, "character '_'"},
      {"aws.x", false, "character '.'"},
      {"-aws", false, "starts or ends with '-'"},
      {"aws-", false, "starts or ends with '-'"},
      {"a ws", false, "byte 0x20"},
  };
  for (const auto& c : cases) {
    auto r = check_provider_name(c.input);
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (!c.valid && !r) {
      EXPECT_NE(r.error().message.find(c.rule_fragment), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("a-z 0-9 -"), std::string::npos);
    }
  }
}

TEST(Identity, CellIdGrammar) {
  const struct {
    std::string input;
    bool valid;
    std::uint64_t value;
  } cases[] = {
      {"0", true, 0},
      {"42", true, 42},
      {"18446744073709551615", true, 18446744073709551615ull},
      {"18446744073709551616", false, 0},
      {"99999999999999999999", false, 0},
      {"042", false, 0},
      {"00", false, 0},
      {"+42", false, 0},
      {"-1", false, 0},
      {" 42", false, 0},
      {"42 ", false, 0},
      {"0x2a", false, 0},
      {"", false, 0},
      {"4 2", false, 0},
  };
  for (const auto& c : cases) {
    auto r = parse_cell_id(c.input);
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (r) {
      EXPECT_EQ(*r, c.value);
    } else {
      EXPECT_NE(r.error().message.find("unsigned 64-bit decimal"), std::string::npos);
    }
  }
}

TEST(Identity, CellIdentityAndCnLimit) {
  auto id = make_cell_identity("aws", "42");
  ASSERT_TRUE(id);
  EXPECT_EQ(identity_urn(*id), "urn:fabricbios:cell:aws:42");
  EXPECT_EQ(common_name_for(*id), "cell aws/42");
  // "cell " + 50 + "/" + 20 digits = 76 characters: beyond RFC 5280's ub-common-name.
  auto too_long = make_cell_identity(std::string(50, 'p'), "18446744073709551615");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("ub-common-name"), std::string::npos);
}

TEST(Identity, ServerSanGrammar) {
  const struct {
    std::string input;
    bool valid;
    std::vector<std::string> sans;
    std::string rule_fragment;
  } cases[] = {
      {"127.0.0.1", true, {"IP:127.0.0.1"}, ""},
      {"192.168.0.55,10.10.0.20,127.0.0.1",
       true,
       {"IP:192.168.0.55", "IP:10.10.0.20", "IP:127.0.0.1"},
       ""},
      {"::1", true, {"IP:::1"}, ""},
      {"2001:DB8:0:0::1", true, {"IP:2001:db8::1"}, ""},
      {"scheduler.example.com", true, {"DNS:scheduler.example.com"}, ""},
      {"*.fabric.example", true, {"DNS:*.fabric.example"}, ""},
      {"localhost,127.0.0.1", true, {"DNS:localhost", "IP:127.0.0.1"}, ""},
      {"a--b.example", true, {"DNS:a--b.example"}, ""},
      {"", false, {}, "empty entry"},
      {"a,,b", false, {}, "empty entry"},
      {"a,", false, {}, "empty entry"},
      {",a", false, {}, "empty entry"},
      {"a.*.example", false, {}, "not the leftmost label"},
      {"*", false, {}, "needs a parent domain"},
      {"*x.example", false, {}, "character '*'"},
      {"x*.example", false, {}, "character '*'"},
      {"under_score.example", false, {}, "character '_'"},
      {"-lead.example", false, {}, "starts or ends with '-'"},
      {"trail-.example", false, {}, "starts or ends with '-'"},
      {"example.com.", false, {}, "empty label"},
      {"a..b", false, {}, "empty label"},
      {std::string(64, 'a') + ".example", false, {}, "longer than 63"},
      {"256.1.1.1", false, {}, "last label is all digits"},
      {"1.2.3", false, {}, "last label is all digits"},
      {"01.2.3.4", false, {}, "last label is all digits"},
      {"[::1]", false, {}, "not a valid IPv6"},
      {"fe80::1%eth0", false, {}, "not a valid IPv6"},
      {"127.0.0.1:443", false, {}, "not a valid IPv6"},
      {"host name", false, {}, "byte 0x20"},
      {"caf\xc3\xa9.example", false, {}, "byte 0xc3"},
  };
  for (const auto& c : cases) {
    auto r = make_server_identity({c.input});
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (r) {
      std::vector<std::string> got;
      for (auto& s : r->server_sans) got.push_back(s.to_string());
      EXPECT_EQ(got, c.sans) << c.input;
    } else if (!c.valid) {
      EXPECT_EQ(r.error().code, Errc::invalid_input) << c.input;
      EXPECT_NE(r.error().message.find(c.rule_fragment), std::string::npos)
          << c.input << ": " << r.error().message;
    }
  }
}

TEST(Identity, ServerSanLengthLimits) {
  std::string label(63, 'a');
  std::string name = label + "." + label + "." + label + "." + std::string(61, 'b');  // 253
  ASSERT_EQ(name.size(), 253u);
  // The CN (first SAN) would exceed 64 characters, so put a short name first.
  EXPECT_TRUE(make_server_identity({"short.example," + name}));
  auto too_long = make_server_identity({"short.example," + name + "c"});
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("254 octets"), std::string::npos);
  auto long_cn = make_server_identity({name});
  ASSERT_FALSE(long_cn);
  EXPECT_NE(long_cn.error().message.find("first --san entry becomes the CN"), std::string::npos);
}

TEST(Identity, ServerSanDuplicates) {
  const struct {
    std::vector<std::string> input;
  } cases[] = {
      {{"a.example,a.example"}},
      {{"a.example,A.EXAMPLE"}},
      {{"::1,0:0::1"}},
      {{"10.0.0.1", "10.0.0.1"}},  // across repeated --san flags
  };
  for (const auto& c : cases) {
    auto r = make_server_identity(c.input);
    ASSERT_FALSE(r) << c.input[0];
    EXPECT_NE(r.error().message.find("duplicate"), std::string::npos);
  }
  auto none = make_server_identity({});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::usage);
}

TEST(Identity, UrnsAndNames) {
  auto t = make_tenant_identity("acme");
  ASSERT_TRUE(t);
  EXPECT_EQ(identity_urn(*t), "urn:fabricbios:tenant:acme");
  EXPECT_EQ(common_name_for(*t), "acme");
  EXPECT_EQ(identity_urn(make_fabric_observer_identity()), "urn:fabricbios:fabric-observer");
  EXPECT_EQ(identity_urn(make_fabric_admin_identity()), "urn:fabricbios:fabric-admin");
  auto p = make_provenance_signer_identity("ami-bake");
  ASSERT_TRUE(p);
  EXPECT_EQ(identity_urn(*p), "urn:fabricbios:provenance-signer:ami-bake");
  EXPECT_EQ(common_name_for(*p), "provenance-signer ami-bake");
  auto bad = make_provenance_signer_identity("ami:bake");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("invalid pipeline"), std::string::npos);
}

TEST(Identity, RoleNames) {
  for (const char* name :
       {"tenant", "fabric-observer", "fabric-admin", "cell", "provenance-signer"}) {
    auto r = parse_leaf_role(name);
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(role_name(*r), name);
  }
  for (const char* name : {"server", "ca", "admin", "Tenant", ""}) {
    auto r = parse_leaf_role(name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, Errc::usage);
  }
}

TEST(Identity, CaIdentity) {
  EXPECT_TRUE(make_ca_identity("fabricBIOS Fabric CA", 1));
  EXPECT_TRUE(make_ca_identity("Zürich CA", 0));
  EXPECT_FALSE(make_ca_identity("", 1));
  EXPECT_FALSE(make_ca_identity(std::string(65, 'c'), 1));
  EXPECT_FALSE(make_ca_identity("bad\nname", 1));
  EXPECT_FALSE(make_ca_identity("ok", -1));
  EXPECT_FALSE(make_ca_identity("ok", 17));
}

}  // namespace
