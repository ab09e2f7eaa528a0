#include "registry/db.hpp"

#include <limits>

namespace grafos::registry {
namespace {

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

Result<std::unique_ptr<Db>> open_db(const std::string& path, bool create,
                                    std::chrono::milliseconds busy_timeout) {
  auto d = SqliteDb::open(path, create, busy_timeout);
  if (!d) return d;
  if (sqlite3_create_function_v2((*d)->handle(), "sat_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                 nullptr, nullptr, sat_sum_step, sat_sum_final,
                                 nullptr) != SQLITE_OK)
    return (*d)->error("registering sat_sum");
  return d;
}

}  // namespace grafos::registry
