#include "registry/db.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace grafos::registry {

Db::~Db() {
  for (auto& [k, s] : stmts_) sqlite3_finalize(s);
  if (db_) sqlite3_close_v2(db_);
}

Error Db::error(std::string_view what) const {
  return make_error(Errc::storage,
                    std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "no database") + " (" +
                        sqlite3_errstr(db_ ? sqlite3_extended_errcode(db_) : 0) + ")");
}

namespace {

// sat_sum(x): the sum of the integers x, saturating at INT64_MAX (a negative value, a uint64
// stored past INT64_MAX, counts as INT64_MAX); 0 when there are none. SQLite's SUM fails with
// "integer overflow" instead, which would make every listing fail.
void sat_sum_step(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* acc = static_cast<sqlite3_int64*>(sqlite3_aggregate_context(ctx, sizeof(sqlite3_int64)));
  if (!acc || sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  constexpr sqlite3_int64 kMax = std::numeric_limits<sqlite3_int64>::max();
  sqlite3_int64 v = sqlite3_value_int64(argv[0]);
  if (v < 0) v = kMax;
  *acc = v > kMax - *acc ? kMax : *acc + v;
}

void sat_sum_final(sqlite3_context* ctx) {
  auto* acc = static_cast<sqlite3_int64*>(sqlite3_aggregate_context(ctx, 0));
  sqlite3_result_int64(ctx, acc ? *acc : 0);
}

}  // namespace

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool create,
                                     std::chrono::milliseconds busy_timeout) {
  std::unique_ptr<Db> d(new Db());
  if (create) {
    // Create with 0600 up front: the file holds token digests and the audit trail.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return make_error(Errc::io, "creating database " + path + ": " + std::strerror(errno));
    ::close(fd);
  }
  int rc =
      sqlite3_open_v2(path.c_str(), &d->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = std::string("opening database ") + path + ": " + sqlite3_errstr(rc);
    return make_error(rc == SQLITE_CANTOPEN ? Errc::file_missing : Errc::storage, msg);
  }
  sqlite3_busy_timeout(d->db_, static_cast<int>(busy_timeout.count()));
  sqlite3_extended_result_codes(d->db_, 1);
  if (sqlite3_create_function_v2(d->db_, "sat_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                 nullptr, sat_sum_step, sat_sum_final, nullptr) != SQLITE_OK)
    return d->error("registering sat_sum");
  if (auto r = d->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !r)
    return r.error();
  return d;
}

Result<sqlite3_stmt*> Db::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    return error("preparing statement");
  stmts_[sql] = s;
  return s;
}

Result<void> Db::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return make_error(Errc::storage, std::string("database: ") + m);
  }
  return ok();
}

std::string col_text(sqlite3_stmt* s, int i) {
  auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i)) : "";
}

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  // An empty view may have no data pointer, which SQLite would bind as NULL.
  sqlite3_bind_text(s, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  if (v)
    sqlite3_bind_int64(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}

}  // namespace grafos::registry
