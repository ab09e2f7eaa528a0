#include "registry/router.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <boost/url/parse.hpp>
#include <boost/url/src.hpp>  // Boost.URL is used header-only; this is its one translation unit
#include <charconv>
#include <chrono>
#include <cstring>
#include <iostream>
#include <limits>
#include <mutex>
#include <string_view>

#include "registry/tls.hpp"
#include "registry/wire_errors.hpp"
#include "util/json.hpp"

namespace grafos::registry {

// ---- small pieces ----

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string to_json_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool Request::has_param(const std::string& k) const {
  return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == k; });
}

std::string Request::param(const std::string& k) const {
  for (const auto& [key, v] : params)
    if (key == k) return v;
  return {};
}

Reply ok_reply(int status, json body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Reply from_error(const Error& e) {
  WireError w = to_wire(e);
  Reply r;
  r.status = w.status;
  r.body = admin::ErrorBody{w.code, w.message};
  r.detail = w.code + ": " + w.message;
  if (w.status == 500) r.log = e.message;
  return r;
}

namespace {

Error bad(std::string msg) { return make_error(Errc::bad_request, std::move(msg)); }

// A request path for the audit log and messages: bytes outside printable ASCII as %XX, bounded.
std::string escaped(std::string_view s, std::size_t max = 200) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string request_id() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) {
    static std::atomic<std::uint64_t> n{0};
    auto v = ++n;
    std::memcpy(b, &v, sizeof b);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::vector<std::string> split_pattern(std::string_view p) {
  std::vector<std::string> out;
  while (!p.empty()) {
    p.remove_prefix(1);  // '/'
    auto slash = p.find('/');
    out.emplace_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash);
  }
  return out;
}

}  // namespace

// ---- strict body and field decoding ----

Result<json> parse_body(const Request& req, const std::vector<std::string>& allowed) {
  if (req.body.empty()) return json::object();
  auto j = parse_json_strict(req.body, 16);
  if (!j) return bad("malformed JSON body: " + j.error().message);
  if (!j->is_object()) return bad("body must be a JSON object");
  for (auto& [k, v] : j->items())
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      return bad("unknown field '" + escaped(k, 64) + "'");
  return std::move(*j);
}

Result<std::uint64_t> get_u64(const json& j, const char* k, bool required, std::uint64_t dflt) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) {
    if (required) return bad(std::string("missing field '") + k + "'");
    return dflt;
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
    return bad(std::string("field '") + k + "' must be a non-negative integer");
  auto v = it->get<std::uint64_t>();
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return bad(std::string("field '") + k + "' is too large");
  return v;
}

Result<bool> get_bool(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) return bad(std::string("field '") + k + "' must be a boolean");
  return it->get<bool>();
}

Result<std::string> get_str(const json& j, const char* k, bool required) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) {
    if (required) return bad(std::string("missing field '") + k + "'");
    return std::string();
  }
  if (!it->is_string()) return bad(std::string("field '") + k + "' must be a string");
  return it->get<std::string>();
}

Result<std::int64_t> parse_i64(const std::string& name, const std::string& v, bool non_negative) {
  auto refuse = [&](const std::string& why) {
    return bad("query parameter '" + name + "' " + why);
  };
  const char* kind = non_negative ? "a non-negative integer" : "an integer";
  if (v.empty() || (non_negative && v[0] == '-')) return refuse(std::string("must be ") + kind);
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc::result_out_of_range)
    return refuse(std::string("is out of range (") + kind + " from " +
                  (non_negative ? "0" : std::to_string(std::numeric_limits<std::int64_t>::min())) +
                  " to " + std::to_string(std::numeric_limits<std::int64_t>::max()) + ")");
  if (ec != std::errc() || end != v.data() + v.size())
    return refuse(std::string("must be ") + kind);
  return n;
}

Result<bool> parse_flag(const Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  auto v = req.param(name);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0" || v.empty()) return false;
  return bad(std::string("query parameter '") + name + "' must be true or false");
}

Result<std::string> canonical_lease_id(std::string id) {
  if (id.starts_with("0x") || id.starts_with("0X")) id = id.substr(2);
  if (id.size() != 16) return bad("lease id must be 16 hex digits");
  for (auto& c : id) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return bad("lease id must be 16 hex digits");
  }
  return id;
}

Result<void> check_name(const std::string& name) {
  if (!valid_tenant_name(name))
    return make_error(Errc::bad_name,
                      "tenant name '" + escaped(name, 80) +
                          "' must be 1-63 characters of [A-Za-z0-9._-] starting with a letter or "
                          "digit");
  return ok();
}

admin::AuditEntry audit_for(const std::string& kind, const Principal& p, const Request& req) {
  admin::AuditEntry e;
  e.time = now_s();
  e.kind = kind;
  e.principal = p.name;
  if (p.role == Role::tenant) e.tenant_id = p.tenant_id;
  e.action = req.action;
  return e;
}

// ---- the pipeline ----

void Router::add(Route r) {
  auto segments = split_pattern(r.pattern);
  routes_.push_back(Entry{std::move(r), std::move(segments)});
}

struct Router::Pending {
  const Route* route = nullptr;
  Request req;
  Principal principal;
  bool authenticated = false;
  std::string kind;
};

namespace {

// The catch-all under /api/v1: an authenticated, audited 404.
const Route& not_found_route() {
  static const Route r{
      "*", "", "auth", Access::read, [](const Request& req, const Principal&) {
        return from_error(
            make_error(Errc::endpoint_not_found, "no such endpoint " + escaped(req.path, 100)));
      }};
  return r;
}

}  // namespace

Result<DecodedTarget> decode_target(std::string_view text) {
  auto target = boost::urls::parse_origin_form(text);
  if (!target) return make_error(Errc::bad_request, "malformed request target");
  DecodedTarget d;
  d.path = target->path();
  for (auto param : target->params()) d.params.emplace_back(param.key, param.value);
  for (auto s : target->segments()) d.segments.emplace_back(s);
  d.api_v1 = d.segments.size() >= 2 && d.segments[0] == "api" && d.segments[1] == "v1" &&
             std::string_view(target->encoded_path()).starts_with("/api/v1/");
  return d;
}

std::optional<HttpResponse> Router::admit(HttpRequest& hreq, std::shared_ptr<void>& state) {
  auto target = decode_target(hreq.target);
  if (!target) return refuse(hreq, 400, "malformed request target");
  auto p = std::make_shared<Pending>();
  Request& req = p->req;
  req.method = hreq.method;
  req.content_type = hreq.content_type;
  req.path = std::move(target->path);
  req.action = hreq.method + " " + escaped(req.path);
  req.params = std::move(target->params);
  std::vector<std::string>& segs = target->segments;
  if (!target->api_v1) return refuse(hreq, 404, "no such endpoint");
  for (const auto& [r, pat] : routes_) {
    if (r.method != req.method) continue;
    if (pat.size() != segs.size() - 2) continue;
    std::vector<std::string> matches;
    bool match = true;
    for (std::size_t i = 0; i < pat.size() && match; ++i) {
      const std::string& seg = segs[i + 2];
      if (pat[i] != "*") {
        match = pat[i] == seg;
      } else {
        // An encoded '/' inside a segment matches no route (as if it had been a separator).
        match = seg.find('/') == std::string::npos;
        matches.push_back(seg);
      }
    }
    if (!match) continue;
    p->route = &r;
    req.matches = std::move(matches);
    break;
  }
  if (!p->route) {
    if (req.method != "GET" && req.method != "POST" && req.method != "DELETE")
      return refuse(hreq, 404, "no such endpoint");
    p->route = &not_found_route();
  }
  p->kind = p->route->kind;
  if (p->route->authenticate) {
    // Federation: the route authenticates its callers itself (no fabric certificate needed).
    auto peer = p->route->authenticate(hreq.ssl);
    if (!peer) {
      p->kind = "auth";
      p->principal.name = "anonymous";
      if (X509* c = hreq.ssl ? SSL_get0_peer_certificate(hreq.ssl) : nullptr)
        p->principal.name =
            SSL_get_verify_result(hreq.ssl) == X509_V_OK ? cert_label(c) : unverified_label(c);
      return finish(*p, from_error(peer.error()));
    }
    p->principal = std::move(*peer);
    p->authenticated = true;
    state = std::move(p);
    return std::nullopt;
  }
  auto who = gate_.authenticate(hreq.ssl, hreq.authorization);
  if (!who) {
    p->kind = "auth";
    if (X509* c = hreq.ssl ? SSL_get0_peer_certificate(hreq.ssl) : nullptr) {
      bool verified = SSL_get_verify_result(hreq.ssl) == X509_V_OK;
      p->principal.name = verified ? cert_label(c) : unverified_label(c);
      // A verified tenant certificate (e.g. of a disabled tenant): audited under its tenant.
      if (auto named = principal_from_cert(c); verified && named && named->role == Role::tenant)
        p->principal.tenant = named->tenant;
    }
    if (p->principal.name.empty()) p->principal.name = "anonymous";
    return finish(*p, from_error(who.error()));
  }
  p->principal = std::move(*who);
  p->authenticated = true;
  if (auto allowed = gate_.authorize(p->principal, p->route->access); !allowed) {
    p->kind = "auth";
    return finish(*p, from_error(allowed.error()));
  }
  state = std::move(p);
  return std::nullopt;
}

HttpResponse Router::handle(HttpRequest& hreq, std::shared_ptr<void>& state) {
  auto& p = *std::static_pointer_cast<Pending>(state);
  p.req.body = std::move(hreq.body);
  Reply r;
  try {
    r = p.route->handler(p.req, p.principal);
  } catch (const std::exception& ex) {
    r = from_error(make_error(Errc::internal, std::string("exception: ") + ex.what()));
  } catch (...) {
    r = from_error(make_error(Errc::internal, "unknown exception"));
  }
  return finish(p, std::move(r));
}

HttpResponse Router::finish(Pending& p, Reply r) {
  HttpResponse out = render(r, p.req.action);
  if (!r.audited) {
    auto e = audit_for(p.kind, p.principal, p.req);
    e.outcome = outcome_of(r.status);
    e.detail = r.detail;
    // A token principal brings its tenant's id; a certificate only the name, which the group
    // commit resolves (no lookup on the request path).
    bool tenant = p.principal.role == Role::tenant && !p.principal.tenant.empty() && !e.tenant_id;
    store_.audit(std::move(e), tenant ? p.principal.tenant : std::string());
  }
  return out;
}

HttpResponse Router::render(Reply& r, const std::string& action) {
  HttpResponse out;
  out.status = r.status;
  if (r.status >= 500) {
    // The cause stays in the server's log, under an id the caller can quote.
    out.request_id = request_id();
    static std::mutex log_mu;
    {
      std::lock_guard lk(log_mu);
      std::cerr << "grafos-registry: request " << out.request_id << ": " << action << ": HTTP "
                << r.status << ": " << escaped(r.log.empty() ? r.detail : r.log, 2000) << std::endl;
    }
    std::string msg = "internal error (request id " + out.request_id + ")";
    r.body = admin::ErrorBody{"internal", msg};
    r.raw.clear();
    r.content_type.clear();
    r.detail = "internal: " + msg;
  }
  if (!r.raw.empty()) out.content_type = r.content_type;
  out.body = r.raw.empty() ? to_json_text(r.body) : std::move(r.raw);
  return out;
}

HttpResponse Router::refuse(const HttpRequest& hreq, int status, const std::string& message) {
  admin::AuditEntry e;
  e.time = now_s();
  e.kind = "auth";
  e.principal = "unauthenticated";
  std::string tenant;
  if (hreq.ssl)
    if (X509* c = SSL_get0_peer_certificate(hreq.ssl);
        c && SSL_get_verify_result(hreq.ssl) == X509_V_OK) {
      e.principal = cert_label(c);
      if (auto p = principal_from_cert(c); p && p->role == Role::tenant) tenant = p->tenant;
    }
  std::string_view path = hreq.target;
  path = path.substr(0, path.find('?'));
  e.action = hreq.method.substr(0, 16) + " " + escaped(path);
  e.outcome = outcome_of(status);
  std::string code = default_wire_code(status);
  e.detail = "HTTP " + std::to_string(status) + " " + code + ": " + message;
  store_.audit(std::move(e), std::move(tenant));
  HttpResponse out;
  out.status = status;
  out.body = to_json_text(json(admin::ErrorBody{code, message}));
  return out;
}

}  // namespace grafos::registry
