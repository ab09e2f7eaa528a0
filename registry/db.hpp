// The registry's SQLite connection: util/sqlite.hpp's, plus sat_sum, the saturating aggregate
// the store's usage sums need.
#pragma once

#include <memory>
#include <string>

#include "util/sqlite.hpp"

namespace grafos::registry {

using Db = SqliteDb;
using grafos::in_write_transaction;
using grafos::kBusyTimeout;

/// Opens the registry database (util/sqlite's open) and registers sat_sum(x): the sum of the
/// integers x saturating at INT64_MAX (a negative value, a uint64 stored past INT64_MAX, counts as
/// INT64_MAX); 0 when there are none. SQLite's SUM fails with "integer overflow" instead, which
/// would make every listing fail.
Result<std::unique_ptr<Db>> open_db(const std::string& path, bool create,
                                    std::chrono::milliseconds busy_timeout = kBusyTimeout);

/// Column `i` of the current row as text ("" for NULL).
inline std::string col_text(sqlite3_stmt* s, int i) { return sqlite_column_text(s, i); }
/// Binds text (copied).
inline void bind_text(sqlite3_stmt* s, int i, std::string_view v) { sqlite_bind_text(s, i, v); }
/// Binds an integer, or NULL when absent.
inline void bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  sqlite_bind_opt(s, i, v);
}

}  // namespace grafos::registry
