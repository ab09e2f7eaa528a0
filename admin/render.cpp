#include "admin/render.hpp"

#include <cstdio>
#include <ctime>

#include "admin/wire.hpp"
#include "util/text.hpp"

namespace grafos::admin {
namespace {

using nlohmann::json;

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// Every cell comes from a server's answer: control bytes and invalid UTF-8 are shown as \xNN,
// never sent to the terminal.
Rows escaped(Rows rows) {
  for (auto& row : rows)
    for (auto& cell : row) cell = escape_text(cell);
  return rows;
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

std::string format_quota_mem(std::uint64_t bytes, bool exact) {
  if (bytes == 0) return "unlimited";
  return exact ? std::to_string(bytes) : format_bytes(bytes);
}

std::string format_time(std::int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<Rows> tenant_rows(const json& tenants, bool wide) {
  auto list = decode_array<Tenant>(tenants, "tenants");
  if (!list) return std::move(list).error();
  Rows rows;
  if (wide)
    rows.push_back({"ID", "NAME", "STATUS", "MEM_USED", "MEM_QUOTA", "CPU_USED", "CPU_QUOTA",
                    "LEASES", "CREATED", "LAST_USED"});
  else
    rows.push_back({"NAME", "STATUS", "MEM_USED", "MEM_QUOTA", "CPU_USED", "CPU_QUOTA", "LEASES"});
  for (const auto& t : *list) {
    std::string cpu_quota = t.quota_cpu == 0 ? "unlimited" : std::to_string(t.quota_cpu);
    std::string mem_used = wide ? std::to_string(t.usage_mem) : format_bytes(t.usage_mem);
    if (wide)
      rows.push_back({std::to_string(t.id), t.name, t.status, mem_used,
                      format_quota_mem(t.quota_mem, true), std::to_string(t.usage_cpu), cpu_quota,
                      std::to_string(t.active_leases), format_time(t.created_at),
                      t.last_used ? format_time(*t.last_used) : "never"});
    else
      rows.push_back({t.name, t.status, mem_used, format_quota_mem(t.quota_mem, false),
                      std::to_string(t.usage_cpu), cpu_quota, std::to_string(t.active_leases)});
  }
  return escaped(std::move(rows));
}

Result<Rows> audit_rows(const json& entries, bool wide) {
  auto list = decode_array<AuditEntry>(entries, "entries");
  if (!list) return std::move(list).error();
  Rows rows;
  if (wide)
    rows.push_back(
        {"ID", "TIME", "KIND", "PRINCIPAL", "TENANT_ID", "ACTION", "OUTCOME", "DETAIL", "SOURCE"});
  else
    rows.push_back({"TIME", "KIND", "PRINCIPAL", "ACTION", "OUTCOME"});
  for (const auto& e : *list) {
    if (wide)
      rows.push_back({std::to_string(e.id), format_time(e.time), e.kind, or_dash(e.principal),
                      e.tenant_id ? std::to_string(*e.tenant_id) : "-", e.action, e.outcome,
                      or_dash(e.detail), e.source ? *e.source : "-"});
    else
      rows.push_back({format_time(e.time), e.kind, or_dash(e.principal), e.action, e.outcome});
  }
  return escaped(std::move(rows));
}

Result<Rows> fenced_lease_rows(const json& leases, bool wide) {
  auto list = decode_array<FencedLease>(leases, "leases");
  if (!list) return std::move(list).error();
  Rows rows;
  if (wide)
    rows.push_back({"LEASE_ID", "TENANT_ID", "NODE", "KIND", "REASON", "FENCED_AT", "CAPACITY",
                    "HOLDER", "EXPIRES_AT", "SOURCE"});
  else
    rows.push_back({"LEASE_ID", "TENANT_ID", "NODE", "KIND", "REASON", "FENCED_AT"});
  for (const auto& l : *list) {
    if (wide)
      rows.push_back({l.lease_id, std::to_string(l.tenant_id), or_dash(l.node_id),
                      or_dash(l.resource_kind), l.fence_reason, format_time(l.fenced_at),
                      std::to_string(l.capacity), or_dash(l.holder), format_time(l.expires_at),
                      l.source ? *l.source : "-"});
    else
      rows.push_back({l.lease_id, std::to_string(l.tenant_id), or_dash(l.node_id),
                      or_dash(l.resource_kind), l.fence_reason, format_time(l.fenced_at)});
  }
  return escaped(std::move(rows));
}

Result<Rows> source_rows(const json& sources) {
  auto list = decode_array<Source>(sources, "sources");
  if (!list) return std::move(list).error();
  Rows rows{{"SOURCE", "STATUS", "COUNT", "ERROR"}};
  for (const auto& s : *list)
    rows.push_back({s.url, s.ok ? "ok" : "failed", std::to_string(s.count), or_dash(s.error)});
  return escaped(std::move(rows));
}

}  // namespace grafos::admin
