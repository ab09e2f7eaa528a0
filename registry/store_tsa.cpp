// RFC 3161 serials: the TSA's counter, reserved in blocks (registry/tsa.hpp).
#include <limits>

#include "registry/store.hpp"
#include "registry/store_internal.hpp"

namespace grafos::registry {

Result<std::uint64_t> Store::reserve_tsa_serials(std::uint64_t count) {
  if (count == 0 || count > (1u << 20))
    return make_error(Errc::internal, "reserve_tsa_serials: bad count " + std::to_string(count));
  std::lock_guard wl(write_mu_);
  Db& db = *writer_;
  return in_write_transaction<std::uint64_t>(db, [&]() -> Result<std::uint64_t> {
    auto sel = db.prepare("SELECT next FROM tsa_serials WHERE id = 1");
    if (!sel) return sel.error();
    if (sqlite3_step(*sel) != SQLITE_ROW) {
      sqlite3_reset(*sel);
      return db.error("reading the timestamp serial counter");
    }
    std::int64_t next = sqlite3_column_int64(*sel, 0);
    sqlite3_reset(*sel);
    if (next <= 0) return make_error(Errc::storage, "the timestamp serial counter is corrupt");
    if (static_cast<std::uint64_t>(next) >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - count)
      return make_error(Errc::limit_exceeded, "the timestamp serial counter is exhausted");
    auto upd = db.prepare("UPDATE tsa_serials SET next = ?1 WHERE id = 1");
    if (!upd) return upd.error();
    sqlite3_bind_int64(*upd, 1, next + static_cast<std::int64_t>(count));
    int rc = sqlite3_step(*upd);
    sqlite3_reset(*upd);
    if (rc != SQLITE_DONE) return db.error("reserving timestamp serials");
    return static_cast<std::uint64_t>(next);
  });
}

}  // namespace grafos::registry
