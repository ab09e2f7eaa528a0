// Federation rules that need no server: the scope file's rules (each refusal names its rule), grant
// status over time, peer key references, and the enrollment URL (built by the registry, parsed by
// grafos-admin).
#include <gtest/gtest.h>

#include <string>

#include "admin/federation.hpp"
#include "registry/federation.hpp"

namespace grafos::registry {
namespace {

using nlohmann::json;

struct ScopeCase {
  const char* name;
  const char* text;
  const char* error;  ///< nullptr: accepted
};

TEST(FederationScope, RulesNamedInEveryRefusal) {
  const ScopeCase cases[] = {
      {"minimal", R"({"resources":["tenants"]})", nullptr},
      {"all", R"({"resources":["tenants","leases","fenced-leases","audit"],
                  "excluded_resources":["cells"],"max_rows_per_query":10000})",
       nullptr},
      {"rows 1", R"({"resources":["audit"],"max_rows_per_query":1})", nullptr},
      {"not an object", R"(["tenants"])", "must be a JSON object"},
      {"no resources", R"({"max_rows_per_query":5})", "'resources' is required"},
      {"empty resources", R"({"resources":[]})", "at least one resource"},
      {"unknown resource", R"({"resources":["secrets"]})", "unknown resource 'secrets'"},
      {"unknown excluded", R"({"resources":["tenants"],"excluded_resources":["x"]})",
       "unknown resource 'x'"},
      {"both", R"({"resources":["tenants","audit"],"excluded_resources":["audit"]})",
       "both in 'resources' and 'excluded_resources'"},
      {"twice", R"({"resources":["tenants","tenants"]})", "listed twice"},
      {"rows 0", R"({"resources":["tenants"],"max_rows_per_query":0})", "from 1 to 10000"},
      {"rows 10001", R"({"resources":["tenants"],"max_rows_per_query":10001})", "from 1 to 10000"},
      {"rows negative", R"({"resources":["tenants"],"max_rows_per_query":-1})", "from 1 to 10000"},
      {"rows huge", R"({"resources":["tenants"],"max_rows_per_query":18446744073709551615})",
       "from 1 to 10000"},
      {"rows float", R"({"resources":["tenants"],"max_rows_per_query":2.5})", "integer"},
      {"rows string", R"({"resources":["tenants"],"max_rows_per_query":"5"})", "integer"},
      {"unknown key", R"({"resources":["tenants"],"columns":[]})", "unknown key 'columns'"},
      {"resource not string", R"({"resources":[1]})", "must hold strings"},
  };
  for (const auto& c : cases) {
    auto s = parse_scope(json::parse(c.text));
    if (!c.error) {
      EXPECT_TRUE(s) << c.name << ": " << (s ? "" : s.error().message);
      continue;
    }
    ASSERT_FALSE(s) << c.name;
    EXPECT_EQ(s.error().code, Errc::invalid_input) << c.name;
    EXPECT_NE(s.error().message.find(c.error), std::string::npos)
        << c.name << ": " << s.error().message;
  }
}

TEST(FederationScope, AllowsOnlyIncludedNotExcluded) {
  auto s = parse_scope(json::parse(R"({"resources":["tenants","leases"]})"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->allows("tenants"));
  EXPECT_TRUE(s->allows("leases"));
  EXPECT_FALSE(s->allows("audit"));
  EXPECT_FALSE(s->allows("cells"));
  EXPECT_EQ(s->max_rows_per_query, 100);
  auto round = parse_scope(s->to_json());
  ASSERT_TRUE(round);
  EXPECT_EQ(round->resources, s->resources);
}

TEST(FederationGrant, StatusOverTime) {
  FedGrant g;
  g.status = "pending";
  g.expires_at = 1000;
  EXPECT_EQ(g.status_at(999), "pending");
  EXPECT_EQ(g.status_at(1000), "expired");
  g.status = "active";
  EXPECT_EQ(g.status_at(1001), "expired");
  g.status = "revoked";
  EXPECT_EQ(g.status_at(1001), "revoked");  // revoked is final, never "expired"
}

TEST(FederationPeerKey, ObjectGoesBeforeTheQuery) {
  EXPECT_EQ(peer_key_ref("pkcs11:token=peers?module-path=/m.so&pin-source=file:/p", "fabric-b"),
            "pkcs11:token=peers;object=peer-fabric-b?module-path=/m.so&pin-source=file:/p");
  EXPECT_EQ(peer_key_ref("pkcs11:token=peers", "x"), "pkcs11:token=peers;object=peer-x");
}

TEST(FederationUrl, BuiltAndParsedBack) {
  FedGrant g;
  g.id = "grant-0123";
  g.peer_id = "fabric-b";
  g.user_id = "alice@example.org";
  std::string fp(64, 'a');
  std::string url = enrollment_url("https://127.0.0.1:9100", "gfe_abc", g, fp);
  auto u = admin::parse_enrollment_url(url);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->base, "https://127.0.0.1:9100");
  EXPECT_EQ(u->token.view(), "gfe_abc");
  EXPECT_EQ(u->grant_id, "grant-0123");
  EXPECT_EQ(u->peer_id, "fabric-b");
  EXPECT_EQ(u->user_id, "alice@example.org");
  EXPECT_EQ(u->ca_sha256, fp);
}

TEST(FederationUrl, RefusalsNeverEchoTheToken) {
  const std::string fp(64, 'b');
  const std::string q = "?token=gfe_secret&grant=g&peer=p&user=u&ca_sha256=";
  const std::pair<std::string, const char*> cases[] = {
      {"http://h:1/api/v1/federation/enroll" + q + fp, "https://"},
      {"https://h:1/api/v1/other" + q + fp, "path must end"},
      {"https://h:1/api/v1/federation/enroll?grant=g&peer=p&user=u&ca_sha256=" + fp, "no token"},
      {"https://h:1/api/v1/federation/enroll?token=gfe_secret&peer=p&user=u&ca_sha256=" + fp,
       "grant"},
      {"https://h:1/api/v1/federation/enroll" + q + "abc", "ca_sha256"},
      {"https://h:1/api/v1/federation/enroll" + q + std::string(64, 'G'), "ca_sha256"},
  };
  for (const auto& [url, want] : cases) {
    auto u = admin::parse_enrollment_url(url);
    ASSERT_FALSE(u) << url;
    EXPECT_EQ(u.error().code, Errc::usage);
    EXPECT_NE(u.error().message.find(want), std::string::npos) << u.error().message;
    EXPECT_EQ(u.error().message.find("gfe_secret"), std::string::npos) << u.error().message;
  }
}

}  // namespace
}  // namespace grafos::registry
