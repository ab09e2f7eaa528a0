// Cells: registration and the registered check.
#include "registry/store.hpp"
#include "registry/store_internal.hpp"

namespace grafos::registry {

using admin::AuditEntry;

Result<Cell> Store::register_cell(const std::string& provider, const std::string& cell_id,
                                  std::int64_t now, const AuditEntry& audit) {
  return write_tx<Cell>(
      [&](Db& db, AuditEntry&) -> Result<Cell> {
        auto st = db.prepare(
            "INSERT INTO cells(provider, cell_id, registered_at, last_seen) VALUES(?1,?2,?3,?3)"
            " ON CONFLICT(provider, cell_id) DO UPDATE SET last_seen = ?3");
        if (!st) return st.error();
        bind_text(*st, 1, provider);
        bind_text(*st, 2, cell_id);
        sqlite3_bind_int64(*st, 3, now);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("registering cell");
        return Cell{provider, cell_id, now, now};
      },
      audit);
}

Result<bool> Store::cell_registered(const std::string& provider, const std::string& cell_id) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  auto st = r.db->prepare("SELECT 1 FROM cells WHERE provider = ? AND cell_id = ?");
  if (!st) return st.error();
  bind_text(*st, 1, provider);
  bind_text(*st, 2, cell_id);
  bool found = sqlite3_step(*st) == SQLITE_ROW;
  sqlite3_reset(*st);
  return found;
}

}  // namespace grafos::registry
