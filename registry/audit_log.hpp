// The registry's audit writer. A mutation's audit entry is inserted in the mutation's own
// transaction (insert()); entries of reads and refusals, and tenant last-used times, are queued and
// group-committed by a background thread at most kFlushInterval later (flush() forces it). When the
// database is busy or a commit fails, the batch stays queued, in order, for the next flush.
//
// Entries of refused requests (any outcome but "allowed": unauthenticated or refused traffic,
// which anyone can produce) are bounded in the queue, by count and bytes; beyond the bound they are
// dropped and counted, and once the writer catches up one entry records how many were dropped.
// Allowed requests' entries and failed mutations' entries are never dropped.
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

/// Most queued entries of refused requests; more are dropped (and counted) until a flush commits.
inline constexpr std::size_t kMaxQueuedRefused = 10000;
/// Most bytes of queued entries of refused requests (their text), the same way.
inline constexpr std::size_t kMaxQueuedRefusedBytes = std::size_t{16} << 20;

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
  /// Queues an entry; `tenant_name` fills in a missing tenant_id at commit. `bounded`: the entry
  /// counts against kMaxQueuedRefused / kMaxQueuedRefusedBytes and is dropped beyond them.
  void enqueue(admin::AuditEntry entry, std::string tenant_name, bool bounded);
  /// Queues a last-used time for a tenant (the latest one wins).
  void touch(std::int64_t tenant_id, std::int64_t now);
  /// Commits the queue now; on failure it stays queued, in order.
  void flush();
  /// Entries queued and not yet committed.
  std::size_t queued();
  /// Entries dropped since the last committed drop notice.
  std::uint64_t dropped();

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
    std::size_t bounded_bytes = 0;  ///< 0 when the entry is not bounded
  };
  Result<void> commit_batch(const std::vector<Queued>& entries,
                            const std::map<std::int64_t, std::int64_t>& touched,
                            const std::optional<admin::AuditEntry>& drop_notice);
  void flusher_loop();

  std::mutex& write_mu_;
  Db& writer_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Queued> queue_;
  std::map<std::int64_t, std::int64_t> touched_;
  std::size_t bounded_count_ = 0;  ///< queued entries that are bounded
  std::size_t bounded_bytes_ = 0;  ///< and their bytes
  std::uint64_t dropped_ = 0;      ///< bounded entries dropped since the last drop notice
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace grafos::registry
