// One SQLite connection: the wrapper the registry's store and the CA's ledger share. WAL,
// synchronous=FULL, a busy timeout, cached prepared statements, errors with SQLite's own text.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace grafos {

/// How long a writer waits for another connection's lock before SQLITE_BUSY.
inline constexpr std::chrono::milliseconds kBusyTimeout{5000};

/// One connection (not thread-safe: one per thread, or behind a mutex).
class SqliteDb {
 public:
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  /// Opens `path` (creating it with mode 0600 when `create`), WAL, synchronous=FULL, busy
  /// timeout. A missing file without `create` is Errc::file_missing.
  static Result<std::unique_ptr<SqliteDb>> open(
      const std::string& path, bool create, std::chrono::milliseconds busy_timeout = kBusyTimeout);

  /// The cached prepared statement for `sql` (reset and unbound), or an error.
  Result<sqlite3_stmt*> prepare(const char* sql);
  /// Runs one or more statements without parameters.
  Result<void> exec(const char* sql);
  /// The raw handle.
  sqlite3* handle() const { return db_; }
  /// An Errc::storage error naming the SQLite error of this connection.
  Error error(std::string_view what) const;

 private:
  SqliteDb() = default;
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> stmts_;
};

/// Binds text (copied) to parameter `i`.
void sqlite_bind_text(sqlite3_stmt* s, int i, std::string_view v);
/// Binds an optional integer (NULL when empty).
void sqlite_bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v);
/// Column `i` as text ("" for NULL).
std::string sqlite_column_text(sqlite3_stmt* s, int i);
/// Column `i` as an optional integer.
std::optional<std::int64_t> sqlite_column_opt(sqlite3_stmt* s, int i);

/// Runs `body` (returning Result<T>) inside BEGIN IMMEDIATE ... COMMIT; rolls back when BEGIN,
/// the body or COMMIT fails. Inside a transaction the caller already holds (a batch), `body` just
/// runs: the caller's COMMIT makes it durable.
template <class T, class F>
Result<T> in_write_transaction(SqliteDb& db, F&& body) {
  if (!sqlite3_get_autocommit(db.handle())) return body();
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return std::move(r).error().context("BEGIN");
  Result<T> res = body();
  if (!res) {
    (void)db.exec("ROLLBACK");
    return res;
  }
  if (auto r = db.exec("COMMIT"); !r) {
    (void)db.exec("ROLLBACK");
    return std::move(r).error().context("COMMIT");
  }
  return res;
}

/// A transaction that rolls back unless committed.
class SqliteTransaction {
 public:
  /// BEGIN IMMEDIATE (takes the write lock now, so a busy database fails here, before any work).
  static Result<SqliteTransaction> begin(SqliteDb& db);
  SqliteTransaction(SqliteTransaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  /// COMMIT; durable on return (synchronous=FULL).
  Result<void> commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace grafos
