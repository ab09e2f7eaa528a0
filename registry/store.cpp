#include "registry/store.hpp"

#include "registry/store_internal.hpp"

namespace grafos::registry {

std::string audit_outcome(Errc code) {
  return code == Errc::unauthorized || code == Errc::forbidden ? "denied" : "error";
}

namespace store_detail {
Result<void> check_quantities(const char* what, std::uint64_t mem, std::uint64_t cpu) {
  if (mem > kMaxMem)
    return make_error(Errc::limit_exceeded, std::string(what) + " memory " + std::to_string(mem) +
                                                " is above the maximum of " +
                                                std::to_string(kMaxMem) + " bytes (2^50)");
  if (cpu > kMaxCpu)
    return make_error(Errc::limit_exceeded, std::string(what) + " cpu " + std::to_string(cpu) +
                                                " is above the maximum of " +
                                                std::to_string(kMaxCpu) + " cores (2^20)");
  return ok();
}

Error no_reader() { return make_error(Errc::storage, "opening a database reader failed"); }
}  // namespace store_detail

Store::Reader Store::acquire_reader() {
  {
    std::lock_guard lk(pool_mu_);
    if (!readers_.empty()) {
      auto d = std::move(readers_.back());
      readers_.pop_back();
      return Reader(this, std::move(d));
    }
  }
  auto d = open_db(path_, false, busy_timeout_);
  return Reader(this, d ? std::move(*d) : nullptr);
}

Store::~Store() {
  audit_log_.reset();  // stops the flusher and commits what is queued, before the writer closes
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool create,
                                           std::chrono::milliseconds busy_timeout) {
  std::unique_ptr<Store> s(new Store());
  s->path_ = path;
  s->busy_timeout_ = busy_timeout;
  auto w = open_db(path, create, busy_timeout);
  if (!w) return w.error();
  s->writer_ = std::move(*w);
  if (auto r = migrate(*s->writer_, path); !r) return r.error();
  s->audit_log_ = std::make_unique<AuditLog>(s->write_mu_, *s->writer_);
  return s;
}

void Store::start_flusher() { audit_log_->start_flusher(); }

void Store::flush() { audit_log_->flush(); }

void Store::audit(admin::AuditEntry entry, std::string tenant_name) {
  // Refused requests (anyone can send them) are bounded in the queue; allowed ones are not.
  bool bounded = entry.outcome != "allowed";
  audit_log_->enqueue(std::move(entry), std::move(tenant_name), bounded);
}

Result<void> Store::audit_now(const admin::AuditEntry& entry) {
  std::lock_guard wl(write_mu_);
  return AuditLog::insert(*writer_, entry);
}

std::size_t Store::queued_audit() { return audit_log_->queued(); }

std::uint64_t Store::dropped_audit() { return audit_log_->dropped(); }

void Store::touch_tenant(std::int64_t tenant_id, std::int64_t now) {
  audit_log_->touch(tenant_id, now);
}

Result<std::vector<admin::AuditEntry>> Store::query_audit(const AuditFilter& filter) {
  flush();
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  return AuditLog::query(*r.db, filter);
}

Result<std::string> Store::integrity_check() {
  std::lock_guard wl(write_mu_);
  auto st = writer_->prepare("PRAGMA integrity_check");
  if (!st) return st.error();
  std::string out;
  while (sqlite3_step(*st) == SQLITE_ROW) {
    if (!out.empty()) out += "; ";
    out += col_text(*st, 0);
  }
  sqlite3_reset(*st);
  return out;
}

}  // namespace grafos::registry
