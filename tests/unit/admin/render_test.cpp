// Unit tests of grafos-admin's table rows (admin/render.hpp) and their layout by format_table.
#include <gtest/gtest.h>

#include "admin/render.hpp"
#include "tools/common/tool.hpp"

namespace grafos::admin {
namespace {

using nlohmann::json;

TEST(Format, Bytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(1073741824), "1.0 GiB");
  EXPECT_EQ(format_quota_mem(0, false), "unlimited");
  EXPECT_EQ(format_quota_mem(2147483648, false), "2.0 GiB");
  EXPECT_EQ(format_quota_mem(2147483648, true), "2147483648");
}

TEST(Format, Time) {
  EXPECT_EQ(format_time(0), "-");
  EXPECT_EQ(format_time(1700000000), "2023-11-14T22:13:20Z");
}

const json kTenants = json::parse(R"([
  {"id":1,"name":"acme","status":"active","quota_mem":1073741824,"quota_cpu":4,
   "usage_mem":536870912,"usage_cpu":1,"active_leases":2,"created_at":1700000000,"last_used":null},
  {"id":2,"name":"globex-long-name","status":"disabled","quota_mem":0,"quota_cpu":0,
   "usage_mem":0,"usage_cpu":0,"active_leases":0,"created_at":1700000001,"last_used":1700000100}
])");

TEST(TenantRows, DefaultAndWide) {
  auto r = tenant_rows(kTenants, false);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], (std::vector<std::string>{"NAME", "STATUS", "MEM_USED", "MEM_QUOTA",
                                               "CPU_USED", "CPU_QUOTA", "LEASES"}));
  EXPECT_EQ((*r)[1],
            (std::vector<std::string>{"acme", "active", "512.0 MiB", "1.0 GiB", "1", "4", "2"}));
  EXPECT_EQ((*r)[2][3], "unlimited");
  EXPECT_EQ((*r)[2][5], "unlimited");

  auto w = tenant_rows(kTenants, true);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)[0].front(), "ID");
  EXPECT_EQ((*w)[0].back(), "LAST_USED");
  EXPECT_EQ((*w)[1][3], "536870912");
  EXPECT_EQ((*w)[1][4], "1073741824");
  EXPECT_EQ((*w)[1][9], "never");
  EXPECT_EQ((*w)[2][9], "2023-11-14T22:15:00Z");

  // Aligned: every column starts at the same offset on every line.
  std::string table = tools::format_table(*r);
  auto first_nl = table.find('\n');
  auto header = table.substr(0, first_nl);
  auto line2 = table.substr(first_nl + 1, table.find('\n', first_nl + 1) - first_nl - 1);
  EXPECT_EQ(header.find("STATUS"), line2.find("active"));
}

TEST(TenantRows, MalformedAnswerIsAnError) {
  EXPECT_FALSE(tenant_rows(json::object(), false));
  EXPECT_FALSE(tenant_rows(json::parse(R"([{"id":1}])"), false));  // no name
  EXPECT_FALSE(tenant_rows(json::parse(R"([{"name":"a","quota_mem":"lots"}])"), false));
  auto empty = tenant_rows(json::array(), false);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size(), 1u);  // header only
}

TEST(AuditRows, DefaultAndWide) {
  json e = json::parse(R"([{"id":9,"time":1700000000,"kind":"tenant","principal":
    "urn:fabricbios:fabric-admin","tenant_id":3,"action":"POST /api/v1/tenants","outcome":"allowed",
    "detail":"","source":"https://127.0.0.1:1"},
    {"id":10,"time":1700000001,"kind":"auth","principal":"","tenant_id":null,"action":"GET /x",
     "outcome":"denied","detail":"no cert"}])");
  auto r = audit_rows(e, false);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0], (std::vector<std::string>{"TIME", "KIND", "PRINCIPAL", "ACTION", "OUTCOME"}));
  EXPECT_EQ((*r)[1], (std::vector<std::string>{"2023-11-14T22:13:20Z", "tenant",
                                               "urn:fabricbios:fabric-admin",
                                               "POST /api/v1/tenants", "allowed"}));
  EXPECT_EQ((*r)[2][2], "-");
  auto w = audit_rows(e, true);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)[1][4], "3");
  EXPECT_EQ((*w)[2][4], "-");
  EXPECT_EQ((*w)[1][8], "https://127.0.0.1:1");
  EXPECT_EQ((*w)[2][7], "no cert");
}

// What a server sends is shown, never executed by the terminal: control bytes and invalid UTF-8
// in any cell of any table come out as \xNN.
TEST(Rows, ControlBytesAndInvalidUtf8AreEscapedInEveryTable) {
  const std::string hostile = std::string("/api/\x1b[2K\x1b]0;pwned\x07\xff\xfe\xc2\x9b") + '\0';
  const std::string shown = "/api/\\x1b[2K\\x1b]0;pwned\\x07\\xff\\xfe\\xc2\\x9b\\x00";
  auto bad = [](const std::string& cell) {
    for (char ch : cell) {
      auto b = static_cast<unsigned char>(ch);
      if (b < 0x20 || b == 0x7f || b >= 0x80) return true;
    }
    return false;
  };
  json audit = json::array({json{{"id", 1},
                                 {"time", 1700000000},
                                 {"kind", hostile},
                                 {"principal", hostile},
                                 {"tenant_id", nullptr},
                                 {"action", hostile},
                                 {"outcome", hostile},
                                 {"detail", hostile},
                                 {"source", hostile}}});
  json tenants = json::array({json{{"id", 1}, {"name", hostile}, {"status", hostile}}});
  json leases = json::array({json{{"lease_id", hostile},
                                  {"tenant_id", 1},
                                  {"node_id", hostile},
                                  {"resource_kind", hostile},
                                  {"fence_reason", hostile},
                                  {"fenced_at", 0},
                                  {"capacity", 1},
                                  {"holder", hostile},
                                  {"expires_at", 0},
                                  {"source", hostile}}});
  json sources =
      json::array({json{{"url", hostile}, {"ok", false}, {"count", 0}, {"error", hostile}}});
  std::vector<std::pair<const char*, Result<Rows>>> tables;
  for (bool wide : {false, true}) {
    tables.emplace_back("audit", audit_rows(audit, wide));
    tables.emplace_back("tenants", tenant_rows(tenants, wide));
    tables.emplace_back("fenced leases", fenced_lease_rows(leases, wide));
  }
  tables.emplace_back("sources", source_rows(sources));
  for (auto& [what, rows] : tables) {
    ASSERT_TRUE(rows) << what << ": " << rows.error().message;
    int hostile_cells = 0;
    for (auto& row : *rows)
      for (auto& cell : row) {
        EXPECT_FALSE(bad(cell)) << what << ": raw byte in '" << cell << "'";
        if (cell == shown) ++hostile_cells;
      }
    EXPECT_GT(hostile_cells, 0) << what << ": the escaped text is shown";
  }
  auto wide_audit = audit_rows(audit, true);
  ASSERT_TRUE(wide_audit);
  EXPECT_EQ((*wide_audit)[1][3], shown);  // principal
  EXPECT_EQ((*wide_audit)[1][7], shown);  // detail
}

TEST(FencedLeaseRows, DefaultAndWide) {
  json l = json::parse(R"([{"lease_id":"00000000000000ab","tenant_id":1,"node_id":"n1",
    "resource_kind":"mem","fence_reason":"fenced","fenced_at":1700000000,"capacity":4096,
    "holder":"urn:fabricbios:tenant:acme","expires_at":1700003600}])");
  auto r = fenced_lease_rows(l, false);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].size(), 6u);
  EXPECT_EQ((*r)[1][0], "00000000000000ab");
  auto w = fenced_lease_rows(l, true);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)[0].size(), 10u);
  EXPECT_EQ((*w)[1][6], "4096");
  EXPECT_EQ((*w)[1][9], "-");
  EXPECT_FALSE(fenced_lease_rows(json::parse(R"([{"tenant_id":1}])"), false));
}

TEST(SourceRows, FailedSourcesAreVisible) {
  json s = json::parse(R"([{"url":"https://a","ok":true,"error":"","count":3},
                           {"url":"https://b","ok":false,"error":"connection refused","count":0}])");
  auto r = source_rows(s);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[1], (std::vector<std::string>{"https://a", "ok", "3", "-"}));
  EXPECT_EQ((*r)[2], (std::vector<std::string>{"https://b", "failed", "0", "connection refused"}));
}

}  // namespace
}  // namespace grafos::admin
