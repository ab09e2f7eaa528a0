// The registry's audit writer. A mutation's audit entry is inserted in the mutation's own
// transaction (insert()); entries of reads and refusals, and tenant last-used times, are queued and
// group-committed by a background thread at most kFlushInterval later (flush() forces it). When the
// database is busy or a commit fails, the batch stays queued, in order, for the next flush.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admin/wire.hpp"
#include "registry/db.hpp"
#include "util/result.hpp"

namespace grafos::registry {

/// Largest page an audit query returns, whatever `limit` asks for.
inline constexpr std::int64_t kMaxAuditLimit = 1000;
/// Group-commit interval of queued audit entries.
inline constexpr std::chrono::milliseconds kFlushInterval{20};

/// Audit query filters (all optional; since/until inclusive).
struct AuditFilter {
  std::vector<std::string> kinds;
  std::optional<std::int64_t> tenant_id;
  std::string principal;  ///< substring
  std::vector<std::string> outcomes;
  std::optional<std::int64_t> since;
  std::optional<std::int64_t> until;
  std::int64_t skip = 0;
  std::int64_t limit = 100;
};

/// The queue of audit entries and last-used times, and its group-commit thread. Thread-safe.
class AuditLog {
 public:
  /// Commits through `writer`, holding `write_mu` (the lock of the store's write transactions).
  AuditLog(std::mutex& write_mu, Db& writer) : write_mu_(write_mu), writer_(writer) {}
  /// Stops the thread and commits what is queued (as far as the database lets it).
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Starts the background group-commit thread.
  void start_flusher();
  /// Queues an entry; `tenant_name` fills in a missing tenant_id at commit.
  void enqueue(admin::AuditEntry entry, std::string tenant_name);
  /// Queues a last-used time for a tenant (the latest one wins).
  void touch(std::int64_t tenant_id, std::int64_t now);
  /// Commits the queue now; on failure it stays queued, in order.
  void flush();
  /// Entries queued and not yet committed.
  std::size_t queued();

  /// Inserts one entry on `db`, inside the caller's transaction (the caller holds the write lock).
  static Result<void> insert(Db& db, const admin::AuditEntry& e,
                             const std::string& tenant_name = {});
  /// Matching committed entries, newest first; limit capped at kMaxAuditLimit.
  static Result<std::vector<admin::AuditEntry>> query(Db& db, const AuditFilter& filter);

 private:
  /// A queued entry and the tenant name its tenant_id is resolved from at commit.
  struct Queued {
    admin::AuditEntry entry;
    std::string tenant_name;
  };
  Result<void> commit_batch(const std::vector<Queued>& entries,
                            const std::map<std::int64_t, std::int64_t>& touched);
  void flusher_loop();

  std::mutex& write_mu_;
  Db& writer_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Queued> queue_;
  std::map<std::int64_t, std::int64_t> touched_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace grafos::registry
