#include "util/sqlite.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace grafos {

SqliteDb::~SqliteDb() {
  for (auto& [k, s] : stmts_) sqlite3_finalize(s);
  if (db_) sqlite3_close_v2(db_);
}

Error SqliteDb::error(std::string_view what) const {
  return make_error(Errc::storage,
                    std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "no database") + " (" +
                        sqlite3_errstr(db_ ? sqlite3_extended_errcode(db_) : 0) + ")");
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, bool create,
                                                 std::chrono::milliseconds busy_timeout) {
  std::unique_ptr<SqliteDb> d(new SqliteDb());
  if (create) {
    // Create with 0600 up front: the file holds what the CA issued, token digests, the audit.
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
  if (auto r = d->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !r)
    return r.error();
  return d;
}

Result<sqlite3_stmt*> SqliteDb::prepare(const char* sql) {
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

Result<void> SqliteDb::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return make_error(Errc::storage, std::string("database: ") + m);
  }
  return ok();
}

void sqlite_bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  // An empty view may have no data pointer, which SQLite would bind as NULL.
  sqlite3_bind_text(s, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void sqlite_bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  if (v)
    sqlite3_bind_int64(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}

std::string sqlite_column_text(sqlite3_stmt* s, int i) {
  auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

std::optional<std::int64_t> sqlite_column_opt(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}

Result<SqliteTransaction> SqliteTransaction::begin(SqliteDb& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r.error();
  return SqliteTransaction(&db);
}

SqliteTransaction::~SqliteTransaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Result<void> SqliteTransaction::commit() {
  SqliteDb* db = db_;
  db_ = nullptr;
  if (auto r = db->exec("COMMIT"); !r) {
    (void)db->exec("ROLLBACK");
    return r.error();
  }
  return ok();
}

}  // namespace grafos
