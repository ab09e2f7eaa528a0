// The registry's SQLite connection: open (file mode 0600, WAL, synchronous=FULL, busy timeout),
// a prepared-statement cache, exec, and the bind/column helpers the store's files share. Every
// failure is an Errc::storage error naming SQLite's message.
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

namespace grafos::registry {

/// How long a write waits for another connection's write lock before it fails.
inline constexpr std::chrono::milliseconds kBusyTimeout{5000};

/// One prepared-statement-caching SQLite connection.
class Db {
 public:
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// Opens `path` (creating it with mode 0600 when `create`), WAL, synchronous=FULL, busy timeout.
  static Result<std::unique_ptr<Db>> open(const std::string& path, bool create,
                                          std::chrono::milliseconds busy_timeout = kBusyTimeout);

  /// The cached prepared statement for `sql` (reset and unbound), or an error.
  Result<sqlite3_stmt*> prepare(const char* sql);
  /// Runs one or more statements without parameters.
  Result<void> exec(const char* sql);
  /// The raw handle.
  sqlite3* handle() const { return db_; }
  /// An Errc::storage error naming the SQLite error of this connection.
  Error error(std::string_view what) const;

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> stmts_;
};

/// Runs `body` (returning Result<T>) inside BEGIN IMMEDIATE ... COMMIT; rolls back when BEGIN,
/// the body or COMMIT fails.
template <class T, class F>
Result<T> in_write_transaction(Db& db, F&& body) {
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

/// Column `i` of the current row as text ("" for NULL).
std::string col_text(sqlite3_stmt* s, int i);
/// Binds text (copied).
void bind_text(sqlite3_stmt* s, int i, std::string_view v);
/// Binds an integer, or NULL when absent.
void bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v);

}  // namespace grafos::registry
