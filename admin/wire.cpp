#include "admin/wire.hpp"

namespace grafos::admin {
namespace {
using nlohmann::json;

template <class T>
void opt_to(json& j, const char* k, const std::optional<T>& v) {
  j[k] = v ? json(*v) : json(nullptr);
}
template <class T>
void opt_from(const json& j, const char* k, std::optional<T>& v) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null())
    v.reset();
  else
    v = it->get<T>();
}
template <class T>
void get_if(const json& j, const char* k, T& v) {
  if (auto it = j.find(k); it != j.end() && !it->is_null()) it->get_to(v);
}
}  // namespace

void to_json(json& j, const Tenant& v) {
  j = json{{"id", v.id},
           {"name", v.name},
           {"status", v.status},
           {"quota_mem", v.quota_mem},
           {"quota_cpu", v.quota_cpu},
           {"usage_mem", v.usage_mem},
           {"usage_cpu", v.usage_cpu},
           {"active_leases", v.active_leases},
           {"created_at", v.created_at}};
  opt_to(j, "last_used", v.last_used);
}
void from_json(const json& j, Tenant& v) {
  get_if(j, "id", v.id);
  j.at("name").get_to(v.name);
  get_if(j, "status", v.status);
  get_if(j, "quota_mem", v.quota_mem);
  get_if(j, "quota_cpu", v.quota_cpu);
  get_if(j, "usage_mem", v.usage_mem);
  get_if(j, "usage_cpu", v.usage_cpu);
  get_if(j, "active_leases", v.active_leases);
  get_if(j, "created_at", v.created_at);
  opt_from(j, "last_used", v.last_used);
}

void to_json(json& j, const Lease& v) {
  j = json{{"lease_id", v.lease_id},
           {"tenant_id", v.tenant_id},
           {"tenant", v.tenant},
           {"node_id", v.node_id},
           {"resource_kind", v.resource_kind},
           {"mem", v.mem},
           {"cpu", v.cpu},
           {"holder", v.holder},
           {"state", v.state},
           {"created_at", v.created_at},
           {"expires_at", v.expires_at}};
}
void from_json(const json& j, Lease& v) {
  j.at("lease_id").get_to(v.lease_id);
  get_if(j, "tenant_id", v.tenant_id);
  get_if(j, "tenant", v.tenant);
  get_if(j, "node_id", v.node_id);
  get_if(j, "resource_kind", v.resource_kind);
  get_if(j, "mem", v.mem);
  get_if(j, "cpu", v.cpu);
  get_if(j, "holder", v.holder);
  get_if(j, "state", v.state);
  get_if(j, "created_at", v.created_at);
  get_if(j, "expires_at", v.expires_at);
}

void to_json(json& j, const FencedLease& v) {
  j = json{{"lease_id", v.lease_id},         {"tenant_id", v.tenant_id},
           {"node_id", v.node_id},           {"resource_kind", v.resource_kind},
           {"fence_reason", v.fence_reason}, {"fenced_at", v.fenced_at},
           {"capacity", v.capacity},         {"holder", v.holder},
           {"expires_at", v.expires_at}};
  if (v.source) j["source"] = *v.source;
}
void from_json(const json& j, FencedLease& v) {
  j.at("lease_id").get_to(v.lease_id);
  get_if(j, "tenant_id", v.tenant_id);
  get_if(j, "node_id", v.node_id);
  get_if(j, "resource_kind", v.resource_kind);
  get_if(j, "fence_reason", v.fence_reason);
  get_if(j, "fenced_at", v.fenced_at);
  get_if(j, "capacity", v.capacity);
  get_if(j, "holder", v.holder);
  get_if(j, "expires_at", v.expires_at);
  opt_from(j, "source", v.source);
}

void to_json(json& j, const AuditEntry& v) {
  j = json{
      {"id", v.id},         {"time", v.time},       {"kind", v.kind},    {"principal", v.principal},
      {"action", v.action}, {"outcome", v.outcome}, {"detail", v.detail}};
  opt_to(j, "tenant_id", v.tenant_id);
  if (v.source) j["source"] = *v.source;
}
void from_json(const json& j, AuditEntry& v) {
  get_if(j, "id", v.id);
  get_if(j, "time", v.time);
  get_if(j, "kind", v.kind);
  get_if(j, "principal", v.principal);
  opt_from(j, "tenant_id", v.tenant_id);
  get_if(j, "action", v.action);
  get_if(j, "outcome", v.outcome);
  get_if(j, "detail", v.detail);
  opt_from(j, "source", v.source);
}

void to_json(json& j, const Source& v) {
  j = json{{"url", v.url}, {"ok", v.ok}, {"error", v.error}, {"count", v.count}};
}
void from_json(const json& j, Source& v) {
  j.at("url").get_to(v.url);
  get_if(j, "ok", v.ok);
  get_if(j, "error", v.error);
  get_if(j, "count", v.count);
}

void to_json(json& j, const ErrorBody& v) { j = json{{"error", v.error}, {"message", v.message}}; }
void from_json(const json& j, ErrorBody& v) {
  get_if(j, "error", v.error);
  get_if(j, "message", v.message);
}

}  // namespace grafos::admin
