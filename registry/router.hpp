// Request decoding and routing: the request target (percent-decoded path segments and query
// parameters), strict JSON bodies, typed fields, and the routing table that ties a method and a
// path pattern to an access class and a handler. The Router is the HttpApp the transport calls.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin/wire.hpp"
#include "registry/access.hpp"
#include "registry/http_server.hpp"
#include "registry/server.hpp"
#include "registry/store.hpp"

namespace grafos::registry {

using nlohmann::json;

/// A decoded request as handlers see it.
struct Request {
  std::string method;
  std::string path;                  ///< percent-decoded path
  std::vector<std::string> matches;  ///< the path segments a "*" of the pattern matched
  std::vector<std::pair<std::string, std::string>> params;  ///< decoded query, in order
  std::string body;
  std::string action;  ///< "METHOD /path" for the audit log (bytes escaped, bounded)
  /// The request's Content-Type header, as sent.
  std::string content_type;

  /// Whether query parameter `k` is present.
  bool has_param(const std::string& k) const;
  /// The first value of query parameter `k` ("" when absent).
  std::string param(const std::string& k) const;
};

/// A handler's answer.
struct Reply {
  int status = 200;
  json body;
  std::string raw;       ///< pre-serialised body (used instead of `body` when set)
  bool audited = false;  ///< the store already wrote the audit entry (mutations)
  std::string detail;    ///< audit detail
  std::string log;       ///< a 500's cause, logged server-side only
  /// With `raw`: its media type (empty: application/json).
  std::string content_type;
};

/// A request-target decoded (Boost.URL origin-form): the percent-decoded path, its segments
/// and the decoded query parameters in order.
struct DecodedTarget {
  std::string path;
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> params;
  bool api_v1 = false;  ///< under /api/v1/ (as sent: an encoded "api%2Fv1" does not count)
};
/// Decodes `target`; Errc::bad_request when it is not an origin-form target.
Result<DecodedTarget> decode_target(std::string_view target);

/// 2xx with `body`.
Reply ok_reply(int status, json body);
/// An error answer through the one wire table (registry/wire_errors.hpp).
Reply from_error(const Error& e);

/// Seconds since the epoch.
std::int64_t now_s();

/// The JSON text of `j`; invalid UTF-8 is replaced, never an exception.
std::string to_json_text(const json& j);

// ---- strict body and field decoding ----
/// The body as a JSON object with only `allowed` keys (an empty body is {}).
Result<json> parse_body(const Request& req, const std::vector<std::string>& allowed);
Result<std::uint64_t> get_u64(const json& j, const char* k, bool required, std::uint64_t dflt = 0);
Result<bool> get_bool(const json& j, const char* k);
Result<std::string> get_str(const json& j, const char* k, bool required);
/// A query parameter as a (non-negative) 64-bit integer.
Result<std::int64_t> parse_i64(const std::string& name, const std::string& v, bool non_negative);
/// A boolean query parameter (true/1, false/0/empty; absent: false).
Result<bool> parse_flag(const Request& req, const char* name);
/// 16 lowercase hex digits from a lease id with optional 0x.
Result<std::string> canonical_lease_id(std::string id);
/// The tenant-name grammar, as a bad_name error.
Result<void> check_name(const std::string& name);

/// The audit entry of a request by `p`.
admin::AuditEntry audit_for(const std::string& kind, const Principal& p, const Request& req);

using Handler = std::function<Reply(const Request&, const Principal&)>;

/// One row of the routing table.
struct Route {
  std::string method;
  std::string pattern;  ///< under /api/v1; "*" matches one path segment
  std::string kind;     ///< audit kind
  Access access;
  Handler handler;
  /// When set, authenticates the caller instead of the Gatekeeper, and `access` is not checked:
  /// the federation endpoints a peer without a fabric certificate reaches (enrollment) and those
  /// an enrolled peer's certificate reaches (registry/handlers_federation.cpp).
  std::function<Result<Principal>(SSL*)> authenticate = {};
};

/// The routing table and the request pipeline (authenticate, authorize, decode, run, audit).
class Router : public HttpApp {
 public:
  Router(Store& store, Gatekeeper& gate) : store_(store), gate_(gate) {}
  void add(Route r);

  std::optional<HttpResponse> admit(HttpRequest& req, std::shared_ptr<void>& state) override;
  HttpResponse handle(HttpRequest& req, std::shared_ptr<void>& state) override;
  HttpResponse refuse(const HttpRequest& req, int status, const std::string& message) override;

  struct Pending;

 private:
  HttpResponse finish(Pending& p, Reply r);
  HttpResponse render(Reply& r, const std::string& action);
  struct Entry {
    Route route;
    std::vector<std::string> segments;  ///< the pattern split at '/', once
  };
  std::vector<Entry> routes_;
  Store& store_;
  Gatekeeper& gate_;
};

class Fanout;

/// What the handlers share.
struct Services {
  const ServerConfig& cfg;
  Store& store;
  Fanout& fanout;
  Federation* federation = nullptr;  ///< registry/federation.hpp
};

void add_tenant_routes(Router& r, Services& s);
void add_lease_routes(Router& r, Services& s);
void add_audit_routes(Router& r, Services& s);
void add_cell_routes(Router& r, Services& s);
class Tsa;
/// POST /timestamp (RFC 3161); `tsa` outlives the router.
void add_timestamp_routes(Router& r, Tsa& tsa);
void add_federation_routes(Router& r, Services& s);

}  // namespace grafos::registry
