#include "admin/wire.hpp"

#include <concepts>
#include <limits>
#include <type_traits>

namespace grafos::admin {
namespace {
using nlohmann::json;

// A JSON value as a message may show it: ASCII only, one line, at most 40 characters.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

// Reads the fields of one JSON object of the answer; keeps the first refusal. This is the one
// checked getter every decoder goes through. Each wire type lists its fields once (fields()
// below), for this reader and for the Writer that encodes it.
class Fields {
 public:
  Fields(const json& j, std::string what) : j_(j), what_(std::move(what)) {
    if (!j_.is_object()) fail(what_ + " is " + j_.type_name() + ", not a JSON object");
  }

  template <class T>
  void required(const char* key, T& out) {
    if (!error_.empty()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fail(field(key) + " is missing");
    read(key, *it, out);
  }

  template <class T>
  void optional(const char* key, T& out) {
    if (!error_.empty()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    read(key, *it, out);
  }

  template <class T>
  void optional(const char* key, std::optional<T>& out) {
    if (!error_.empty()) return;
    out.reset();
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    T v{};
    read(key, *it, v);
    if (error_.empty()) out = std::move(v);
  }

  // Both kinds of optional field read the same way: absent or null is unset.
  template <class T>
  void nullable(const char* key, std::optional<T>& out) {
    optional(key, out);
  }
  template <class T>
  void omittable(const char* key, std::optional<T>& out) {
    optional(key, out);
  }

  template <class T>
  Result<T> done(T value) const {
    if (!error_.empty())
      return Error{Errc::network, "unexpected answer from the server: " + error_};
    return value;
  }

 private:
  std::string field(const char* key) const {
    return "field '" + std::string(key) + "' of " + what_;
  }
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  void wrong(const char* key, const json& v, const char* expected) {
    fail(field(key) + " is " + shown(v) + " (" + v.type_name() + "), not " + expected);
  }

  void read(const char* key, const json& v, std::string& out) {
    if (!v.is_string()) return wrong(key, v, "a string");
    out = v.get_ref<const std::string&>();
  }
  void read(const char* key, const json& v, bool& out) {
    if (!v.is_boolean()) return wrong(key, v, "true or false");
    out = v.get<bool>();
  }
  template <class Int>
  requires std::is_integral_v<Int>
  void read(const char* key, const json& v, Int& out) {
    using Lim = std::numeric_limits<Int>;
    const std::string range =
        "in " + std::to_string(Lim::min()) + ".." + std::to_string(Lim::max());
    if (v.is_number_unsigned()) {
      auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(Lim::max()))
        return fail(field(key) + " is " + shown(v) + ", out of range (" + range + ")");
      out = static_cast<Int>(u);
      return;
    }
    if (v.is_number_integer()) {
      // Signed: parsed text gives this only for negative numbers, but a json built in code
      // (json{{"n", 1}}) holds non-negative values as signed too.
      auto s = v.get<std::int64_t>();
      if constexpr (!Lim::is_signed) {
        if (s < 0)
          return fail(field(key) + " is " + shown(v) + ", a negative number where " + range +
                      " is expected");
        if (static_cast<std::uint64_t>(s) > static_cast<std::uint64_t>(Lim::max()))
          return fail(field(key) + " is " + shown(v) + ", out of range (" + range + ")");
      } else {
        if (s < static_cast<std::int64_t>(Lim::min()) || s > static_cast<std::int64_t>(Lim::max()))
          return fail(field(key) + " is " + shown(v) + ", out of range (" + range + ")");
      }
      out = static_cast<Int>(s);
      return;
    }
    if (v.is_number_float()) return wrong(key, v, "an integer");
    wrong(key, v, ("an integer " + range).c_str());
  }

  const json& j_;
  std::string what_;
  std::string error_;
};

// Writes the fields of one object: the encoding side of the same field lists.
class Writer {
 public:
  explicit Writer(json& j) : j_(j) { j_ = json::object(); }
  template <class T>
  void required(const char* key, const T& v) {
    j_[key] = v;
  }
  template <class T>
  void optional(const char* key, const T& v) {
    j_[key] = v;
  }
  template <class T>
  void nullable(const char* key, const std::optional<T>& v) {  // always present, null when unset
    j_[key] = v ? json(*v) : json(nullptr);
  }
  template <class T>
  void omittable(const char* key, const std::optional<T>& v) {  // present only when set
    if (v) j_[key] = *v;
  }

 private:
  json& j_;
};

// from_json for nlohmann's get<T>(): decode() or nlohmann's own type_error.
template <class T>
void decode_or_throw(const json& j, T& v) {
  auto r = decode<T>(j);
  if (!r) throw json::type_error::create(302, r.error().message, &j);
  v = std::move(*r);
}

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, Tenant>
void fields(V& f, T& v) {
  f.optional("id", v.id);
  f.required("name", v.name);
  f.optional("status", v.status);
  f.optional("quota_mem", v.quota_mem);
  f.optional("quota_cpu", v.quota_cpu);
  f.optional("usage_mem", v.usage_mem);
  f.optional("usage_cpu", v.usage_cpu);
  f.optional("active_leases", v.active_leases);
  f.optional("created_at", v.created_at);
  f.nullable("last_used", v.last_used);
}
constexpr const char* noun(Tenant*) { return "a tenant"; }

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, Lease>
void fields(V& f, T& v) {
  f.required("lease_id", v.lease_id);
  f.optional("tenant_id", v.tenant_id);
  f.optional("tenant", v.tenant);
  f.optional("node_id", v.node_id);
  f.optional("resource_kind", v.resource_kind);
  f.optional("mem", v.mem);
  f.optional("cpu", v.cpu);
  f.optional("holder", v.holder);
  f.optional("state", v.state);
  f.optional("created_at", v.created_at);
  f.optional("expires_at", v.expires_at);
}
constexpr const char* noun(Lease*) { return "a lease"; }

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, FencedLease>
void fields(V& f, T& v) {
  f.required("lease_id", v.lease_id);
  f.optional("tenant_id", v.tenant_id);
  f.optional("node_id", v.node_id);
  f.optional("resource_kind", v.resource_kind);
  f.optional("fence_reason", v.fence_reason);
  f.optional("fenced_at", v.fenced_at);
  f.optional("capacity", v.capacity);
  f.optional("holder", v.holder);
  f.optional("expires_at", v.expires_at);
  f.omittable("source", v.source);
}
constexpr const char* noun(FencedLease*) { return "a fenced lease"; }

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, AuditEntry>
void fields(V& f, T& v) {
  f.optional("id", v.id);
  f.optional("time", v.time);
  f.optional("kind", v.kind);
  f.optional("principal", v.principal);
  f.nullable("tenant_id", v.tenant_id);
  f.optional("action", v.action);
  f.optional("outcome", v.outcome);
  f.optional("detail", v.detail);
  f.omittable("source", v.source);
}
constexpr const char* noun(AuditEntry*) { return "an audit entry"; }

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, Source>
void fields(V& f, T& v) {
  f.required("url", v.url);
  f.optional("ok", v.ok);
  f.optional("error", v.error);
  f.optional("count", v.count);
}
constexpr const char* noun(Source*) { return "a source"; }

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, ErrorBody>
void fields(V& f, T& v) {
  f.optional("error", v.error);
  f.optional("message", v.message);
}
constexpr const char* noun(ErrorBody*) { return "an error answer"; }

template <class V, class T>
requires std::same_as<std::remove_const_t<T>, DeleteTenantAnswer>
void fields(V& f, T& v) {
  f.required("deleted", v.deleted);
  f.optional("released_leases", v.released_leases);
}
constexpr const char* noun(DeleteTenantAnswer*) { return "the delete-tenant answer"; }

template <class T>
Result<T> decode_as(const json& j, std::string what) {
  T v;
  Fields f(j, std::move(what));
  fields(f, v);
  return f.done(std::move(v));
}
}  // namespace

template <>
Result<Tenant> decode<Tenant>(const json& j) {
  return decode_as<Tenant>(j, noun(static_cast<Tenant*>(nullptr)));
}
template <>
Result<Lease> decode<Lease>(const json& j) {
  return decode_as<Lease>(j, noun(static_cast<Lease*>(nullptr)));
}
template <>
Result<FencedLease> decode<FencedLease>(const json& j) {
  return decode_as<FencedLease>(j, noun(static_cast<FencedLease*>(nullptr)));
}
template <>
Result<AuditEntry> decode<AuditEntry>(const json& j) {
  return decode_as<AuditEntry>(j, noun(static_cast<AuditEntry*>(nullptr)));
}
template <>
Result<Source> decode<Source>(const json& j) {
  return decode_as<Source>(j, noun(static_cast<Source*>(nullptr)));
}
template <>
Result<ErrorBody> decode<ErrorBody>(const json& j) {
  return decode_as<ErrorBody>(j, noun(static_cast<ErrorBody*>(nullptr)));
}
template <>
Result<DeleteTenantAnswer> decode<DeleteTenantAnswer>(const json& j) {
  return decode_as<DeleteTenantAnswer>(j, noun(static_cast<DeleteTenantAnswer*>(nullptr)));
}

template <class T>
Result<std::vector<T>> decode_array(const json& j, std::string_view what) {
  if (!j.is_array())
    return Error{Errc::network, "unexpected answer from the server: " + std::string(what) + " is " +
                                    j.type_name() + ", not a JSON array"};
  std::vector<T> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    auto v = decode_as<T>(j[i], "entry " + std::to_string(i + 1) + " of " + std::string(what) +
                                    " (" + noun(static_cast<T*>(nullptr)) + ")");
    if (!v) return std::move(v).error();
    out.push_back(std::move(*v));
  }
  return out;
}

template Result<std::vector<Tenant>> decode_array<Tenant>(const json&, std::string_view);
template Result<std::vector<Lease>> decode_array<Lease>(const json&, std::string_view);
template Result<std::vector<FencedLease>> decode_array<FencedLease>(const json&, std::string_view);
template Result<std::vector<AuditEntry>> decode_array<AuditEntry>(const json&, std::string_view);
template Result<std::vector<Source>> decode_array<Source>(const json&, std::string_view);

void to_json(json& j, const Tenant& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, Tenant& v) { decode_or_throw(j, v); }

void to_json(json& j, const Lease& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, Lease& v) { decode_or_throw(j, v); }

void to_json(json& j, const FencedLease& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, FencedLease& v) { decode_or_throw(j, v); }

void to_json(json& j, const AuditEntry& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, AuditEntry& v) { decode_or_throw(j, v); }

void to_json(json& j, const Source& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, Source& v) { decode_or_throw(j, v); }

void to_json(json& j, const ErrorBody& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, ErrorBody& v) { decode_or_throw(j, v); }

void to_json(json& j, const DeleteTenantAnswer& v) {
  Writer w(j);
  fields(w, v);
}
void from_json(const json& j, DeleteTenantAnswer& v) { decode_or_throw(j, v); }

}  // namespace grafos::admin
