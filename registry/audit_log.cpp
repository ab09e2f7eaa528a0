#include "registry/audit_log.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include <nlohmann/json.hpp>

#include "util/text.hpp"

namespace grafos::registry {

using admin::AuditEntry;

AuditLog::~AuditLog() {
  {
    std::lock_guard lk(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  flush();
}

void AuditLog::start_flusher() {
  flusher_ = std::thread([this] { flusher_loop(); });
}

void AuditLog::flusher_loop() {
  std::unique_lock lk(queue_mu_);
  while (!stop_) {
    queue_cv_.wait_for(lk, kFlushInterval);
    if (queue_.empty() && touched_.empty()) continue;
    lk.unlock();
    flush();
    lk.lock();
  }
}

namespace {

std::size_t text_bytes(const AuditEntry& e, const std::string& tenant_name) {
  return sizeof(AuditEntry) + e.kind.size() + e.principal.size() + e.action.size() +
         e.outcome.size() + e.detail.size() + tenant_name.size();
}

// The one entry that records how many bounded entries were dropped.
AuditEntry drop_notice(std::uint64_t dropped) {
  AuditEntry e;
  e.time = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  e.kind = "audit";
  e.principal = "grafos-registry";
  e.action = "drop audit entries";
  e.outcome = "error";
  e.detail =
      std::to_string(dropped) +
      " audit entries dropped: the queue of refused and unauthenticated requests was full (" +
      std::to_string(kMaxQueuedRefused) + " entries or " + std::to_string(kMaxQueuedRefusedBytes) +
      " bytes) while the database was busy";
  return e;
}

}  // namespace

void AuditLog::enqueue(AuditEntry entry, std::string tenant_name, bool bounded) {
  std::size_t bytes = bounded ? text_bytes(entry, tenant_name) : 0;
  std::lock_guard lk(queue_mu_);
  if (bounded) {
    if (bounded_count_ + 1 > kMaxQueuedRefused || bounded_bytes_ + bytes > kMaxQueuedRefusedBytes) {
      ++dropped_;
      return;
    }
    ++bounded_count_;
    bounded_bytes_ += bytes;
  }
  queue_.push_back(Queued{std::move(entry), std::move(tenant_name), bytes});
}

std::uint64_t AuditLog::dropped() {
  std::lock_guard lk(queue_mu_);
  return dropped_;
}

void AuditLog::touch(std::int64_t tenant_id, std::int64_t now) {
  std::lock_guard lk(queue_mu_);
  auto& v = touched_[tenant_id];
  if (v < now) v = now;
}

std::size_t AuditLog::queued() {
  std::lock_guard lk(queue_mu_);
  return queue_.size();
}

void AuditLog::flush() {
  std::vector<Queued> q;
  std::map<std::int64_t, std::int64_t> t;
  std::uint64_t dropped = 0;
  std::lock_guard wl(write_mu_);
  {
    std::lock_guard lk(queue_mu_);
    q.swap(queue_);
    t.swap(touched_);
    dropped = std::exchange(dropped_, 0);
  }
  if (q.empty() && t.empty() && dropped == 0) return;
  std::optional<AuditEntry> notice;
  if (dropped > 0) notice = drop_notice(dropped);
  if (commit_batch(q, t, notice)) {
    std::size_t count = 0, bytes = 0;
    for (auto& e : q)
      if (e.bounded_bytes > 0) {
        ++count;
        bytes += e.bounded_bytes;
      }
    std::lock_guard lk(queue_mu_);
    bounded_count_ -= count;
    bounded_bytes_ -= bytes;
    return;
  }
  // Not committed (another connection holds the write lock past the busy timeout, an I/O error):
  // the batch goes back in front of whatever was queued meanwhile, for the next flush to retry,
  // and the drop count waits for the next notice.
  std::lock_guard lk(queue_mu_);
  dropped_ += dropped;
  q.insert(q.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.swap(q);
  for (auto& [id, when] : t) {
    auto& v = touched_[id];
    if (v < when) v = when;
  }
}

Result<void> AuditLog::commit_batch(const std::vector<Queued>& entries,
                                    const std::map<std::int64_t, std::int64_t>& touched,
                                    const std::optional<AuditEntry>& notice) {
  Db& db = writer_;
  return in_write_transaction<void>(db, [&]() -> Result<void> {
    for (auto& q : entries)
      if (auto w = insert(db, q.entry, q.tenant_name); !w) return w;
    if (notice)
      if (auto w = insert(db, *notice); !w) return w;
    for (auto& [id, when] : touched) {
      auto st = db.prepare(
          "UPDATE tenants SET last_used = ?2 WHERE id = ?1 AND (last_used IS NULL OR last_used < "
          "?2)");
      if (!st) return st.error();
      sqlite3_bind_int64(*st, 1, id);
      sqlite3_bind_int64(*st, 2, when);
      if (sqlite3_step(*st) != SQLITE_DONE) return db.error("recording a tenant's last use");
    }
    return ok();
  });
}

Result<void> AuditLog::insert(Db& db, const AuditEntry& e, const std::string& tenant_name) {
  auto st = db.prepare(
      "INSERT INTO audit(time, kind, principal, tenant_id, action, outcome, detail)"
      " VALUES(?1, ?2, ?3, COALESCE(?4, (SELECT id FROM tenants WHERE name = ?8)), ?5, ?6, ?7)");
  if (!st) return st.error();
  // Every text field may carry bytes a client chose (a request path, a certificate's principal):
  // stored escaped, so no control byte reaches an auditor's terminal and every row serialises as
  // JSON. A backslash is escaped too, so a stored "\x1b" is always one the escaping wrote.
  sqlite3_bind_int64(*st, 1, e.time);
  bind_text(*st, 2, escape_text(e.kind, Backslash::escape));
  bind_text(*st, 3, escape_text(e.principal, Backslash::escape));
  bind_opt(*st, 4, e.tenant_id);
  bind_text(*st, 5, escape_text(e.action, Backslash::escape));
  bind_text(*st, 6, escape_text(e.outcome, Backslash::escape));
  bind_text(*st, 7, escape_text(e.detail, Backslash::escape));
  if (tenant_name.empty())
    sqlite3_bind_null(*st, 8);
  else
    bind_text(*st, 8, tenant_name);
  if (sqlite3_step(*st) != SQLITE_DONE) return db.error("writing audit entry");
  return ok();
}

Result<std::vector<AuditEntry>> AuditLog::query(Db& db, const AuditFilter& f) {
  auto st = db.prepare(
      "SELECT id, time, kind, principal, tenant_id, action, outcome, detail FROM audit WHERE"
      " (?1 IS NULL OR kind IN (SELECT value FROM json_each(?1)))"
      " AND (?2 IS NULL OR tenant_id = ?2)"
      " AND (?3 = '' OR instr(principal, ?3) > 0)"
      " AND (?4 IS NULL OR outcome IN (SELECT value FROM json_each(?4)))"
      " AND (?5 IS NULL OR time >= ?5) AND (?6 IS NULL OR time <= ?6)"
      " ORDER BY time DESC, id DESC LIMIT ?7 OFFSET ?8");
  if (!st) return st.error();
  if (f.kinds.empty())
    sqlite3_bind_null(*st, 1);
  else
    bind_text(
        *st, 1,
        nlohmann::json(f.kinds).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  bind_opt(*st, 2, f.tenant_id);
  bind_text(*st, 3, f.principal);
  if (f.outcomes.empty())
    sqlite3_bind_null(*st, 4);
  else
    bind_text(
        *st, 4,
        nlohmann::json(f.outcomes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  bind_opt(*st, 5, f.since);
  bind_opt(*st, 6, f.until);
  sqlite3_bind_int64(*st, 7, std::clamp<std::int64_t>(f.limit, 0, kMaxAuditLimit));
  sqlite3_bind_int64(*st, 8, std::max<std::int64_t>(f.skip, 0));
  std::vector<AuditEntry> out;
  int rc;
  while ((rc = sqlite3_step(*st)) == SQLITE_ROW) {
    AuditEntry e;
    e.id = sqlite3_column_int64(*st, 0);
    e.time = sqlite3_column_int64(*st, 1);
    // Rows written before storage escaped them (or by another program) are escaped on the way
    // out; for rows stored escaped this changes nothing.
    e.kind = escape_text(col_text(*st, 2));
    e.principal = escape_text(col_text(*st, 3));
    if (sqlite3_column_type(*st, 4) != SQLITE_NULL) e.tenant_id = sqlite3_column_int64(*st, 4);
    e.action = escape_text(col_text(*st, 5));
    e.outcome = escape_text(col_text(*st, 6));
    e.detail = escape_text(col_text(*st, 7));
    out.push_back(std::move(e));
  }
  sqlite3_reset(*st);
  if (rc != SQLITE_DONE) return db.error("querying audit");
  return out;
}

}  // namespace grafos::registry
