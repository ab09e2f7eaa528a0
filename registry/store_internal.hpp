// What the store's files share and the server never sees: the reader pool's handle, the write
// transaction that carries its audit entry, and the tenant lookups leases need too.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "registry/store.hpp"

namespace grafos::registry {

/// A pooled read connection, returned to the pool when it goes out of scope.
struct Store::Reader {
  Store* store;
  std::unique_ptr<Db> db;
  Reader(Store* s, std::unique_ptr<Db> d) : store(s), db(std::move(d)) {}
  Reader(Reader&&) = default;
  ~Reader() {
    if (db) {
      std::lock_guard lk(store->pool_mu_);
      store->readers_.push_back(std::move(db));
    }
  }
};

/// Runs `body(db, audit)` in one write transaction with its audit entry. Whatever fails (BEGIN on
/// a busy database, the change itself, its audit row, COMMIT), the change is rolled back and its
/// audit entry is queued instead, with the outcome the caller's answer gets: every request ends
/// with an audit row.
template <class T, class F>
Result<T> Store::write_tx(F&& body, const admin::AuditEntry& audit_in) {
  admin::AuditEntry a = audit_in;
  std::unique_lock wl(write_mu_);
  Db& db = *writer_;
  Result<T> res = in_write_transaction<T>(db, [&]() -> Result<T> {
    Result<T> r = body(db, a);
    if (!r) return r;
    if (a.outcome.empty()) a.outcome = "allowed";
    if (auto w = AuditLog::insert(db, a); !w) return std::move(w).error();
    return r;
  });
  if (!res) {
    wl.unlock();
    a.outcome = audit_outcome(res.error().code);
    a.detail = res.error().message;
    audit_log_->enqueue(std::move(a), {}, false);  // a failed mutation's entry is never dropped
  }
  return res;
}

namespace store_detail {

/// The tenant row named `name` at `now` (usage counts leases active then), or nullopt.
Result<std::optional<admin::Tenant>> tenant_named(Db& db, const std::string& name,
                                                  std::int64_t now);
/// The tenant with id `id` at `now`, or nullopt.
Result<std::optional<admin::Tenant>> tenant_with_id(Db& db, std::int64_t id, std::int64_t now);
/// tenant_named() or Errc::tenant_not_found.
Result<admin::Tenant> tenant_by_name(Db& db, const std::string& name, std::int64_t now);
/// Errc::limit_exceeded naming the maximum when `mem` or `cpu` of `what` ("lease", "quota") is
/// above kMaxMem / kMaxCpu.
Result<void> check_quantities(const char* what, std::uint64_t mem, std::uint64_t cpu);
/// Errc::storage for a reader the pool could not open.
Error no_reader();

}  // namespace store_detail
}  // namespace grafos::registry
