// The admin wire API (DESIGN.md section 6): the JSON shapes grafos-admin sends and grafos-registry
// answers, in one place so that client and server cannot drift. All paths are under /api/v1.
//
//   POST   /tenants                               {"name","quota_mem"}          201 Tenant
//   GET    /tenants                                                             200
//   {"tenants":[Tenant]} POST   /tenants/{name}/quota                  {"mem","cpu","force"} 200
//   Tenant DELETE /tenants/{name}?force=true|false                                     200
//   {"deleted":name,"released_leases":n} GET
//   /admin/audit?kind=&kind=&tenant_id=&principal=&outcome=&since=&until=&skip=&limit=&all=
//                                                                               200
//                                                                               {"entries":[AuditEntry],"sources":[Source]}
//   GET    /admin/fenced-leases        (cell)  /admin/fenced-leases/all (orchestrator fan-out)
//                                                                               200
//                                                                               {"leases":[FencedLease],"sources":[Source]}
//   POST   /admin/fenced-leases/{lease_id}/unfence                              200 FencedLease
//   Leases (tenant mints/releases its own; admin fences):
//   POST   /tenants/{name}/leases                 {"mem","cpu","ttl_seconds"}   201 Lease
//   POST   /leases/{lease_id}/release                                           200 Lease
//   POST   /admin/leases/{lease_id}/fence         {"reason"}                    200 FencedLease
//   Cells (role cell only):
//   POST   /cells/register  GET /cells/work/poll  POST /cells/work/complete     200 {...}
//
// Errors: {"error":"<code>","message":"<text>"} with codes such as tenant_exists, bad_name,
// not_found, quota_below_usage, tenant_has_active_leases, not_fenced, unauthorized, forbidden,
// bad_request, payload_too_large.
// Lease ids are 16 lowercase hex digits; the client accepts them with or without "0x".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace grafos::admin {

/// A tenant with its quotas and current usage.
struct Tenant {
  std::int64_t id = 0;
  std::string name;
  std::string status = "active";  ///< "active" | "disabled"
  std::uint64_t quota_mem = 0;    ///< bytes; 0 = unlimited
  std::uint64_t quota_cpu = 0;    ///< cores; 0 = unlimited
  std::uint64_t usage_mem = 0;
  std::uint64_t usage_cpu = 0;
  std::int64_t active_leases = 0;
  std::int64_t created_at = 0;            ///< Unix seconds
  std::optional<std::int64_t> last_used;  ///< Unix seconds of last authenticated token use
};

/// A capacity lease held by a tenant.
struct Lease {
  std::string lease_id;  ///< 16 lowercase hex digits
  std::int64_t tenant_id = 0;
  std::string tenant;
  std::string node_id;
  std::string resource_kind;  ///< "mem" | "cpu"
  std::uint64_t mem = 0;
  std::uint64_t cpu = 0;
  std::string holder;  ///< principal that minted it
  std::string state;   ///< "active" | "released" | "fenced"
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
};

/// A fenced lease (quarantined capacity awaiting an operator's unfence).
struct FencedLease {
  std::string lease_id;
  std::int64_t tenant_id = 0;
  std::string node_id;
  std::string resource_kind;
  std::string fence_reason;  ///< "fenced" | "failed" | "skipped"
  std::int64_t fenced_at = 0;
  std::uint64_t capacity = 0;
  std::string holder;
  std::int64_t expires_at = 0;
  std::optional<std::string> source;  ///< set by an orchestrator's fan-out
};

/// One audit record; every request, allowed or refused, produces one.
struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t time = 0;  ///< Unix seconds
  std::string
      kind;  ///< auth | admin | tenant | token | admission | billing | lease | cell | timestamp
  std::string principal;  ///< e.g. "urn:fabricbios:fabric-admin" or "token:acme"
  std::optional<std::int64_t> tenant_id;
  std::string action;   ///< e.g. "POST /api/v1/tenants"
  std::string outcome;  ///< "allowed" | "denied" | "error" | "ok"
  std::string detail;
  std::optional<std::string> source;
};

/// Per-source result of an orchestrator fan-out.
struct Source {
  std::string url;
  bool ok = false;
  std::string error;  ///< empty when ok
  std::int64_t count = 0;
};

/// Error body of every non-2xx answer.
struct ErrorBody {
  std::string error;
  std::string message;
};

/// Answer of DELETE /tenants/{name}.
struct DeleteTenantAnswer {
  std::string deleted;                ///< the tenant's name
  std::uint64_t released_leases = 0;  ///< active leases released by ?force=true
};

// Decoding what a server answers. Every field goes through one checked getter (wire.cpp): a field
// of the wrong JSON type, a number that is not an integer (1e300, 1.5), a negative number where
// the field is unsigned and a number outside the field's range are refused with Errc::network
// and a message naming the object and the field. Missing or null optional fields keep their
// defaults; a missing required field (name, lease_id, url, deleted) is refused. Nothing throws.

/// Decodes one object; `T` is Tenant, Lease, FencedLease, AuditEntry, Source, ErrorBody or
/// DeleteTenantAnswer.
template <class T>
Result<T> decode(const nlohmann::json& j);

template <>
Result<Tenant> decode<Tenant>(const nlohmann::json& j);
template <>
Result<Lease> decode<Lease>(const nlohmann::json& j);
template <>
Result<FencedLease> decode<FencedLease>(const nlohmann::json& j);
template <>
Result<AuditEntry> decode<AuditEntry>(const nlohmann::json& j);
template <>
Result<Source> decode<Source>(const nlohmann::json& j);
template <>
Result<ErrorBody> decode<ErrorBody>(const nlohmann::json& j);
template <>
Result<DeleteTenantAnswer> decode<DeleteTenantAnswer>(const nlohmann::json& j);

/// Decodes a JSON array of `T`; `what` names it in messages ("tenants").
template <class T>
Result<std::vector<T>> decode_array(const nlohmann::json& j, std::string_view what);

// nlohmann conversions (j.get<Tenant>()): encoders, and decoders that throw nlohmann's
// type_error with decode()'s message. Prefer decode(), which does not throw.
void to_json(nlohmann::json& j, const Tenant& v);
void from_json(const nlohmann::json& j, Tenant& v);
void to_json(nlohmann::json& j, const Lease& v);
void from_json(const nlohmann::json& j, Lease& v);
void to_json(nlohmann::json& j, const FencedLease& v);
void from_json(const nlohmann::json& j, FencedLease& v);
void to_json(nlohmann::json& j, const AuditEntry& v);
void from_json(const nlohmann::json& j, AuditEntry& v);
void to_json(nlohmann::json& j, const Source& v);
void from_json(const nlohmann::json& j, Source& v);
void to_json(nlohmann::json& j, const ErrorBody& v);
void from_json(const nlohmann::json& j, ErrorBody& v);
void to_json(nlohmann::json& j, const DeleteTenantAnswer& v);
void from_json(const nlohmann::json& j, DeleteTenantAnswer& v);

}  // namespace grafos::admin
