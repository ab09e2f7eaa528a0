// The audit log on a real SQLite database: filters, entries kept while the database is busy or a
// commit fails, failed writes audited, hostile bytes stored escaped, the bounded queue of refused
// requests' entries.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/store.hpp"
#include "registry/wire_errors.hpp"
#include "tests/unit/registry/store_test_support.hpp"

namespace grafos::registry {
namespace {

using namespace grafos::registry::test;

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

// ---- audit entries survive a busy or failing database ----

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
  EXPECT_EQ(to_wire(r.error()).status, 500) << c.what << ": " << r.error().message;
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
    EXPECT_EQ(to_wire(e).status, c.status) << c.action << ": " << e.message;
    auto rows = committed(c.action);
    ASSERT_EQ(rows.size(), 1u) << c.action;
    EXPECT_EQ(rows[0].outcome, c.outcome) << c.action;
    EXPECT_EQ(rows[0].detail, e.message) << c.action;
  }
  auto mint_rows = committed("mint-disabled");
  ASSERT_EQ(mint_rows.size(), 1u);
  EXPECT_EQ(mint_rows[0].tenant_id, acme.id) << "the refused mint names its tenant";
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

}  // namespace
}  // namespace grafos::registry
