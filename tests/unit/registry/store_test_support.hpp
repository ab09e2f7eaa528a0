// Fixtures for the store's unit tests: a fresh database in a temporary directory (StoreTest), a
// second SQLite connection as another process would open it (OtherConnection), and helpers to
// read back committed audit entries (AuditDurabilityTest). Real SQLite, no mocks.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/store.hpp"

namespace grafos::registry::test {

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

inline AuditFilter af(std::vector<std::string> kinds = {}, std::string principal = {},
                      std::vector<std::string> outcomes = {},
                      std::optional<std::int64_t> since = {},
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

struct LimitCase {
  const char* what;
  std::uint64_t mem, cpu;
  bool ok;
};

}  // namespace grafos::registry::test
