#include "registry/server.hpp"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <future>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "admin/wire.hpp"
#include "registry/auth.hpp"
#include "util/bytes.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::registry {
namespace {

using nlohmann::json;

// TLS 1.2: ECDHE with AEAD only. TLS 1.3: the three standard AEAD suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// JSON declared as UTF-8. cpp-httplib (Debian's build has zlib and brotli) compresses only an
// exact "application/json", so the charset parameter also keeps responses uncompressed: no
// BREACH-style length oracle on TLS records that carry tenant data.
constexpr const char* kJsonType = "application/json; charset=utf-8";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What an endpoint demands of its caller.
enum class Access {
  admin_write,  // fabric-admin; under mtls+token also a FabricAdmin bearer token
  read,         // fabric-admin, fabric-observer; tenants see only their own tenant
  admin_read,   // fabric-admin, fabric-observer
  lease,        // tenant (own tenant only) or fabric-admin
  cell,         // cell only
};

// A handler's answer.
struct Reply {
  int status = 200;
  json body;
  std::string raw;       // pre-serialised body (used instead of `body` when set)
  bool audited = false;  // the store already wrote the audit entry (mutations)
  std::string detail;
};

Reply error_reply(int status, const std::string& code, const std::string& message) {
  Reply r;
  r.status = status;
  r.body = admin::ErrorBody{code, message};
  r.detail = code + ": " + message;
  return r;
}

std::string default_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 411:
      return "length_required";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

// GET /tenants is the hot read: serialise without building a json tree (same bytes as
// json{{"tenants", ts}}.dump(): keys in nlohmann's sorted order, strings escaped by nlohmann).
std::string tenants_json(const std::vector<admin::Tenant>& ts) {
  std::string out;
  out.reserve(64 + ts.size() * 170);
  out += "{\"tenants\":[";
  bool first = true;
  for (auto& t : ts) {
    if (!first) out += ',';
    first = false;
    out += "{\"active_leases\":" + std::to_string(t.active_leases);
    out += ",\"created_at\":" + std::to_string(t.created_at);
    out += ",\"id\":" + std::to_string(t.id);
    out += ",\"last_used\":" + (t.last_used ? std::to_string(*t.last_used) : std::string("null"));
    out += ",\"name\":" + json(t.name).dump();
    out += ",\"quota_cpu\":" + std::to_string(t.quota_cpu);
    out += ",\"quota_mem\":" + std::to_string(t.quota_mem);
    out += ",\"status\":" + json(t.status).dump();
    out += ",\"usage_cpu\":" + std::to_string(t.usage_cpu);
    out += ",\"usage_mem\":" + std::to_string(t.usage_mem) + "}";
  }
  out += "]}";
  return out;
}

Reply ok_reply(int status, json body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Reply from_error(const Error& e) {
  int status = http_status(e.code);
  auto [code, msg] = split_wire_code(e.message);
  if (code.empty()) code = wire_code(e.code);
  if (code.empty()) code = default_code(status);
  if (status == 500) msg = "internal error (see the server log)";
  return error_reply(status, code, msg);
}

// ---- strict body decoding ----

using Fields = std::vector<std::string>;

Result<json> parse_body(const httplib::Request& req, const Fields& allowed) {
  if (req.body.empty()) return json::object();
  auto j = parse_json_strict(req.body, 16);
  if (!j)
    return make_error(Errc::invalid_input,
                      "bad_request: malformed JSON body: " + j.error().message);
  if (!j->is_object())
    return make_error(Errc::invalid_input, "bad_request: body must be a JSON object");
  for (auto& [k, v] : j->items())
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      return make_error(Errc::invalid_input, "bad_request: unknown field '" + k + "'");
  return std::move(*j);
}

Result<std::uint64_t> get_u64(const json& j, const char* k, bool required, std::uint64_t dflt = 0) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) {
    if (required)
      return make_error(Errc::invalid_input, std::string("bad_request: missing field '") + k + "'");
    return dflt;
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
    return make_error(Errc::invalid_input,
                      std::string("bad_request: field '") + k + "' must be a non-negative integer");
  auto v = it->get<std::uint64_t>();
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return make_error(Errc::invalid_input,
                      std::string("bad_request: field '") + k + "' is too large");
  return v;
}

Result<bool> get_bool(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean())
    return make_error(Errc::invalid_input,
                      std::string("bad_request: field '") + k + "' must be a boolean");
  return it->get<bool>();
}

Result<std::string> get_str(const json& j, const char* k, bool required) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) {
    if (required)
      return make_error(Errc::invalid_input, std::string("bad_request: missing field '") + k + "'");
    return std::string();
  }
  if (!it->is_string())
    return make_error(Errc::invalid_input,
                      std::string("bad_request: field '") + k + "' must be a string");
  return it->get<std::string>();
}

Result<std::int64_t> parse_i64(const std::string& name, const std::string& v, bool non_negative) {
  auto refuse = [&](const std::string& why) {
    return make_error(Errc::invalid_input, "bad_request: query parameter '" + name + "' " + why);
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

Result<bool> parse_flag(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  auto v = req.get_param_value(name);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0" || v.empty()) return false;
  return make_error(Errc::invalid_input, std::string("bad_request: query parameter '") + name +
                                             "' must be true or false");
}

Result<std::string> canonical_lease_id(std::string id) {
  if (id.starts_with("0x") || id.starts_with("0X")) id = id.substr(2);
  if (id.size() != 16)
    return make_error(Errc::invalid_input, "bad_request: lease id must be 16 hex digits");
  for (auto& c : id) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return make_error(Errc::invalid_input, "bad_request: lease id must be 16 hex digits");
  }
  return id;
}

Result<void> check_name(const std::string& name) {
  if (!valid_tenant_name(name))
    return make_error(Errc::invalid_input,
                      "bad_name: tenant name '" + name.substr(0, 80) +
                          "' must be 1-63 characters of [A-Za-z0-9._-] starting with a letter or "
                          "digit");
  return ok();
}

// A request refused before any route ran.
struct Refusal {
  int status = 400;
  std::string code;
  std::string message;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// What a client wrote in a header, for a message: at most 40 bytes, printable ASCII.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

// cpp-httplib 0.11 bounds a request body (set_payload_max_length) only through its
// Content-Length: a chunked body, or a POST, PUT or PATCH without Content-Length (read until EOF),
// is read without limit, and a gzip or br body is inflated. Its pre-routing handler runs after
// the headers and before the body is read, so everything but an identity body of declared length
// is refused there, before authentication. A DELETE without Content-Length has no body (RFC 9112
// section 6.3; cpp-httplib reads none), which is what grafos-admin delete-tenant sends.
std::optional<Refusal> body_framing_refusal(const httplib::Request& req, std::size_t max_body) {
  std::string limit = "at most " + std::to_string(max_body) + " bytes";
  if (req.has_header("Transfer-Encoding"))
    return Refusal{411, "length_required",
                   "Transfer-Encoding '" + shown(req.get_header_value("Transfer-Encoding")) +
                       "' is not accepted: send the body with a Content-Length (" + limit + ")"};
  for (auto [it, end] = req.headers.equal_range("Content-Encoding"); it != end; ++it)
    if (!iequals(trim(it->second), "identity"))
      return Refusal{415, "unsupported_media_type",
                     "Content-Encoding '" + shown(it->second) +
                         "' is not accepted: send the body uncompressed (identity)"};
  auto lengths = req.headers.equal_range("Content-Length");
  if (lengths.first == lengths.second) {
    // The methods cpp-httplib reads a body for even without a Content-Length.
    for (const char* m : {"POST", "PUT", "PATCH", "PRI"})
      if (req.method == m)
        return Refusal{
            411, "length_required",
            req.method + " needs a Content-Length header (0 without a body; " + limit + ")"};
    return std::nullopt;
  }
  std::string_view v = trim(lengths.first->second);
  if (std::next(lengths.first) != lengths.second)
    return Refusal{400, "bad_request", "more than one Content-Length header"};
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string_view::npos)
    return Refusal{400, "bad_request",
                   "Content-Length '" + shown(lengths.first->second) + "' is not a decimal length"};
  return std::nullopt;
}

int ssl_ctx_index() {
  static int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

std::string cert_label(X509* cert) {
  if (!cert) return "unknown";
  auto p = principal_from_cert(cert);
  if (p) return p->name;
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return std::string("cert:") + buf;
}

struct ParsedUrl {
  std::string host;
  int port = 443;
};

Result<ParsedUrl> parse_https_url(const std::string& url) {
  if (!url.starts_with("https://"))
    return make_error(Errc::usage, "cell URL '" + url + "' must start with https://");
  std::string rest = url.substr(8);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  ParsedUrl u;
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || (rest[0] == '[' && rest.back() == ']')) {
    u.host = rest;
  } else {
    u.host = rest.substr(0, colon);
    try {
      u.port = std::stoi(rest.substr(colon + 1));
    } catch (...) {
      return make_error(Errc::usage, "cell URL '" + url + "' has a bad port");
    }
  }
  if (u.host.size() > 2 && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host.empty()) return make_error(Errc::usage, "cell URL '" + url + "' has no host");
  return u;
}

}  // namespace

// ---- server key ----

Result<ServerKey> load_server_key(const std::string& ref, const std::string& cert_path,
                                  const hsm::Interaction& interaction) {
  std::string shown = hsm::redact_key_ref(ref);
  // The backends' messages already name the (redacted) key reference.
  auto wrap = [](const Error& e) {
    return Error{e.code, "server key (--key): " + e.message};
  };
  auto km = hsm::open_key_manager(ref, interaction);
  if (!km) return wrap(km.error());
  auto signer = (*km)->create_signer(ref);
  if (!signer) return wrap(signer.error());
  auto key = hsm::tls_private_key(**signer);
  if (!key) return wrap(key.error());
  BioPtr bio(BIO_new_file(cert_path.c_str(), "r"));
  if (!bio) {
    drain_ossl_errors();
    return make_error(Errc::io, "cannot read server certificate '" + cert_path + "'");
  }
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf)
    return ossl_error(Errc::invalid_input, "reading server certificate '" + cert_path + "'");
  if (X509_check_private_key(leaf.get(), key->get()) != 1) {
    drain_ossl_errors();
    return make_error(Errc::key_backend, "server key '" + shown +
                                             "' does not match the certificate '" + cert_path +
                                             "' (give the key the certificate was issued for)");
  }
  return ServerKey{std::move(*signer), std::move(*key)};
}

// ---- implementation ----

// The tenant list as of one database state, rendered once for every caller who may see it all.
struct TenantsSnapshot {
  std::int64_t version = 0;                 ///< Store::state_version() of the rows
  std::int64_t taken_at = 0;                ///< the `now` usage was computed for
  std::optional<std::int64_t> next_expiry;  ///< usage changes then without a write
  std::vector<admin::Tenant> tenants;
  std::string json;  ///< tenants_json(tenants)

  /// Whether these rows are what list_tenants(now) would return with the database at `version`.
  bool current(std::int64_t db_version, std::int64_t now) const {
    return version == db_version && now >= taken_at && (!next_expiry || now < *next_expiry);
  }
};

struct Server::Impl {
  ServerConfig cfg;
  Store* store = nullptr;
  ServerKey server_key;  // destroyed after http (whose SSL_CTX holds a reference to the key)
  std::unique_ptr<httplib::SSLServer> http;
  int port = 0;

  // GET /tenants is the hot read. Its answer is kept while the database's state version (bumped by
  // triggers on every tenant or lease change, whichever process writes) is unchanged and no active
  // lease has expired since; checking that is one single-row read instead of the aggregate query.
  std::mutex tenants_mu;
  std::shared_ptr<const TenantsSnapshot> tenants_cache;

  // Bearer-token owners as of one state version (admin tokens, tenants and their status all bump
  // it), so a disable or a new token, by whichever process, is seen by the next request. Misses
  // are kept too (a caller retrying a bad token costs no query) up to a bound.
  static constexpr size_t kMaxCachedTokens = 4096;
  std::mutex tokens_mu;
  std::int64_t tokens_version = -1;
  std::unordered_map<std::string, std::optional<TokenOwner>> tokens;

  Result<std::optional<TokenOwner>> find_token_cached(const std::string& digest,
                                                      std::int64_t version) {
    {
      std::lock_guard lk(tokens_mu);
      if (tokens_version == version) {
        auto it = tokens.find(digest);
        if (it != tokens.end()) return it->second;
      }
    }
    auto owner = store->find_token(digest);
    if (!owner) return owner.error();
    std::lock_guard lk(tokens_mu);
    if (tokens_version != version) {
      tokens.clear();
      tokens_version = version;
    }
    if (tokens.size() >= kMaxCachedTokens) tokens.clear();
    tokens.emplace(digest, *owner);
    return owner;
  }

  Result<std::shared_ptr<const TenantsSnapshot>> tenants_snapshot(
      std::optional<std::int64_t> known_version) {
    std::int64_t now = now_s();
    auto v = known_version ? Result<std::int64_t>(*known_version) : store->state_version();
    if (!v) return v.error();
    {
      std::lock_guard lk(tenants_mu);
      if (tenants_cache && tenants_cache->current(*v, now)) return tenants_cache;
    }
    auto listing = store->list_tenants_versioned(now);
    if (!listing) return listing.error();
    auto snap = std::make_shared<TenantsSnapshot>();
    snap->version = listing->version;
    snap->taken_at = now;
    snap->next_expiry = listing->next_expiry;
    snap->tenants = std::move(listing->tenants);
    snap->json = tenants_json(snap->tenants);
    std::lock_guard lk(tenants_mu);
    if (!tenants_cache || tenants_cache->version <= snap->version) tenants_cache = snap;
    return std::shared_ptr<const TenantsSnapshot>(std::move(snap));
  }

  // Audits a request refused before any route ran (no principal was authenticated; a verified
  // client certificate names the caller).
  void audit_refusal(const httplib::Request& req, int status, std::string detail) {
    admin::AuditEntry e;
    e.time = now_s();
    e.kind = "auth";
    e.principal = "unauthenticated";
    std::string tenant;
    if (req.ssl)
      if (X509* c = SSL_get0_peer_certificate(req.ssl)) {
        e.principal = cert_label(c);
        if (auto p = principal_from_cert(c); p && p->role == Role::tenant) tenant = p->tenant;
      }
    e.action = req.method + " " + req.path.substr(0, 200);
    e.outcome = audit_outcome(status);
    e.detail = std::move(detail);
    store->audit(std::move(e), std::move(tenant));
  }

  // -- TLS --
  static int verify_cb(int preverify_ok, X509_STORE_CTX* sctx) {
    SSL* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self =
        ssl ? static_cast<Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ctx_index()))
            : nullptr;
    X509* leaf = X509_STORE_CTX_get0_cert(sctx);
    int depth = X509_STORE_CTX_get_error_depth(sctx);
    std::string why;
    if (!preverify_ok) {
      why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx));
    } else if (depth == 0) {
      auto r = check_client_cert_profile(X509_STORE_CTX_get_current_cert(sctx));
      if (!r) {
        why = r.error().message;
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_PURPOSE);
      }
    }
    if (why.empty()) return 1;
    if (self) {
      admin::AuditEntry e;
      e.time = now_s();
      e.kind = "auth";
      e.principal = cert_label(leaf);
      e.action = "TLS handshake";
      e.outcome = "denied";
      e.detail = "client certificate refused: " + why;
      self->store->audit(std::move(e));
    }
    return 0;
  }

  bool setup_ctx(SSL_CTX& c) {
    SSL_CTX* ctx = &c;
    SSL_CTX_set_ex_data(ctx, ssl_ctx_index(), this);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return false;
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return false;
    if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) return false;
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) return false;
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_path.c_str()) != 1) return false;
    if (SSL_CTX_use_PrivateKey(ctx, server_key.key.get()) != 1) return false;
    if (SSL_CTX_check_private_key(ctx) != 1) return false;
    static const unsigned char sid[] = "grafos-registry";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    if (cfg.auth == AuthMode::token) {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      return true;
    }
    X509_STORE* anchors = X509_STORE_new();
    if (!anchors || X509_STORE_load_file(anchors, cfg.client_ca.c_str()) != 1) {
      X509_STORE_free(anchors);
      return false;
    }
    SSL_CTX_set_cert_store(ctx, anchors);  // takes ownership; no default verify paths
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify_depth(ctx, 4);
    // Without FAIL_IF_NO_PEER_CERT: a caller without a certificate gets an audited 401 instead
    // of a bare handshake failure. Any presented certificate that fails is refused in the
    // handshake (and audited by verify_cb).
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &Impl::verify_cb);
    return true;
  }

  // -- authentication --
  Result<Principal> bearer_principal(const std::string& header, bool required) {
    if (header.empty()) {
      if (required) return make_error(Errc::unauthorized, "unauthorized: bearer token required");
      return Principal{};
    }
    if (!header.starts_with("Bearer ") || header.size() > 7 + 256)
      return make_error(Errc::unauthorized, "unauthorized: Authorization must be 'Bearer <token>'");
    std::string digest = token_digest(std::string_view(header).substr(7));
    auto version = store->state_version();
    if (!version) return version.error();
    auto owner = find_token_cached(digest, *version);
    if (!owner) return owner.error();
    if (!*owner) return make_error(Errc::unauthorized, "unauthorized: invalid bearer token");
    auto& o = **owner;
    if (!constant_time_equal(
            std::span(reinterpret_cast<const unsigned char*>(o.digest.data()), o.digest.size()),
            std::span(reinterpret_cast<const unsigned char*>(digest.data()), digest.size())))
      return make_error(Errc::unauthorized, "unauthorized: invalid bearer token");
    if (o.status != "active")
      return make_error(
          Errc::unauthorized,
          "unauthorized: the token's " +
              std::string(o.kind == TokenOwner::Kind::tenant ? "tenant" : "admin token") + " '" +
              o.name + "' is disabled");
    Principal p;
    p.via_token = true;
    p.state_version = *version;
    if (o.kind == TokenOwner::Kind::tenant) {
      p.role = Role::tenant;
      p.tenant = o.name;
      p.tenant_id = o.id;
      p.name = "token:" + o.name;
      store->touch_tenant(o.id, now_s());
    } else {
      p.role = o.role == "fabric-observer" ? Role::fabric_observer : Role::fabric_admin;
      p.admin_token = p.role == Role::fabric_admin;
      p.name = "admin-token:" + o.name;
    }
    return p;
  }

  Result<Principal> authenticate(const httplib::Request& req) {
    std::string auth = req.get_header_value("Authorization");
    if (cfg.auth == AuthMode::token) return bearer_principal(auth, true);
    X509* cert = req.ssl ? SSL_get0_peer_certificate(req.ssl) : nullptr;
    if (!cert)
      return make_error(Errc::unauthorized,
                        "unauthorized: a client certificate issued by the fabric CA is required");
    if (SSL_get_verify_result(req.ssl) != X509_V_OK)
      return make_error(Errc::unauthorized, "unauthorized: client certificate not verified");
    auto p = principal_from_cert(cert);
    if (!p) return make_error(Errc::forbidden, "forbidden: " + p.error().message);
    if (cfg.auth == AuthMode::mtls_token && !auth.empty()) {
      auto b = bearer_principal(auth, false);
      if (!b) return b.error();
      p->admin_token = b->admin_token;
    }
    return p;
  }

  Result<void> authorize(const Principal& p, Access a) {
    auto deny = [&](const std::string& need) {
      return make_error(Errc::forbidden, "forbidden: requires role " + need + " (caller " + p.name +
                                             " has role " + std::string(role_name(p.role)) + ")");
    };
    switch (a) {
      case Access::admin_write:
        if (p.role != Role::fabric_admin) return deny("fabric-admin");
        if (cfg.auth == AuthMode::mtls_token && !p.admin_token)
          return make_error(Errc::unauthorized,
                            "unauthorized: writes require a FabricAdmin bearer token under "
                            "--auth mtls+token");
        return ok();
      case Access::read:
        if (p.role == Role::cell) return deny("fabric-observer, fabric-admin or tenant");
        return ok();
      case Access::admin_read:
        if (p.role != Role::fabric_admin && p.role != Role::fabric_observer)
          return deny("fabric-observer or fabric-admin");
        return ok();
      case Access::lease:
        if (p.role != Role::fabric_admin && p.role != Role::tenant)
          return deny("tenant or fabric-admin");
        // A tenant mints and releases its own leases with its certificate alone; a fabric-admin
        // lease write, on any tenant, is an admin write.
        if (p.role == Role::fabric_admin && cfg.auth == AuthMode::mtls_token && !p.admin_token)
          return make_error(Errc::unauthorized,
                            "unauthorized: fabric-admin lease writes require a FabricAdmin bearer "
                            "token under --auth mtls+token");
        return ok();
      case Access::cell:
        if (p.role != Role::cell) return deny("cell");
        return ok();
    }
    return ok();
  }

  admin::AuditEntry audit_for(const std::string& kind, const Principal& p,
                              const httplib::Request& req) {
    admin::AuditEntry e;
    e.time = now_s();
    e.kind = kind;
    e.principal = p.name;
    if (p.role == Role::tenant) e.tenant_id = p.tenant_id;
    e.action = req.method + " " + req.path;
    return e;
  }

  // -- routing --
  using Handler = std::function<Reply(const httplib::Request&, const Principal&)>;

  void route(const char* method, const std::string& pattern, const std::string& kind, Access access,
             Handler h) {
    auto wrapped = [this, kind, access, h](const httplib::Request& req, httplib::Response& res) {
      Reply r;
      Principal p;
      std::string audit_kind = kind;
      auto who = authenticate(req);
      if (!who) {
        r = from_error(who.error());
        audit_kind = "auth";
        if (req.ssl)
          if (X509* c = SSL_get0_peer_certificate(req.ssl)) p.name = cert_label(c);
        if (p.name.empty()) p.name = "anonymous";
      } else {
        p = *who;
        auto allowed = authorize(p, access);
        if (!allowed) {
          r = from_error(allowed.error());
          audit_kind = "auth";
        } else {
          try {
            r = h(req, p);
          } catch (const std::exception& ex) {
            r = error_reply(500, "internal", "internal error (see the server log)");
            r.detail = std::string("exception: ") + ex.what();
          }
        }
      }
      if (!r.audited) {
        auto e = audit_for(audit_kind, p, req);
        e.outcome = audit_outcome(r.status);
        e.detail = r.detail;
        // A token principal brings its tenant's id; a certificate only the name, which the
        // group commit resolves (no lookup on the request path).
        bool tenant = who && p.role == Role::tenant && !e.tenant_id;
        store->audit(std::move(e), tenant ? p.tenant : std::string());
      }
      res.status = r.status;
      res.set_content(r.raw.empty() ? r.body.dump() : std::move(r.raw), kJsonType);
    };
    std::string full = "/api/v1" + pattern;
    std::string m = method;
    if (m == "GET")
      http->Get(full, wrapped);
    else if (m == "POST")
      http->Post(full, wrapped);
    else if (m == "DELETE")
      http->Delete(full, wrapped);
  }

  void install_routes();
  Reply fan_out_audit(const httplib::Request& req, const AuditFilter& f, bool all);
  Reply fan_out_fenced(bool all);
  std::unique_ptr<httplib::SSLClient> cell_client(const ParsedUrl& u);
};

std::unique_ptr<httplib::SSLClient> Server::Impl::cell_client(const ParsedUrl& u) {
  std::unique_ptr<httplib::SSLClient> c;
  if (!cfg.cell_cert.empty())
    c = std::make_unique<httplib::SSLClient>(u.host, u.port, cfg.cell_cert, cfg.cell_key);
  else
    c = std::make_unique<httplib::SSLClient>(u.host, u.port);
  c->set_ca_cert_path(cfg.cell_ca.empty() ? cfg.client_ca.c_str() : cfg.cell_ca.c_str());
  c->enable_server_certificate_verification(true);
  auto ms = std::chrono::milliseconds(cfg.cell_timeout_ms);
  c->set_connection_timeout(ms);
  c->set_read_timeout(ms);
  c->set_write_timeout(ms);
  if (!cfg.cell_bearer.empty()) c->set_bearer_token_auth(std::string(cfg.cell_bearer.view()));
  return c;
}

namespace {
// Fetches `path` from every cell in parallel; each result is the parsed JSON or an error text.
std::vector<std::pair<std::string, Result<json>>> fetch_all(
    const std::vector<std::string>& cells,
    const std::function<std::unique_ptr<httplib::SSLClient>(const ParsedUrl&)>& make,
    const std::string& path) {
  std::vector<std::future<Result<json>>> fs;
  for (auto& url : cells)
    fs.push_back(std::async(std::launch::async, [&, url]() -> Result<json> {
      auto u = parse_https_url(url);
      if (!u) return u.error();
      auto c = make(*u);
      auto res = c->Get(path);
      if (!res)
        return make_error(
            Errc::network,
            "cannot reach cell (" + httplib::to_string(res.error()) + ")" +
                (c->get_openssl_verify_result() != X509_V_OK
                     ? std::string(" (") +
                           X509_verify_cert_error_string(c->get_openssl_verify_result()) + ")"
                     : std::string()));
      if (res->status != 200) {
        std::string msg = "HTTP " + std::to_string(res->status);
        if (auto j = parse_json_strict(res->body); j && j->is_object() && j->contains("message"))
          msg += ": " + j->value("message", "");
        return make_error(Errc::network, msg);
      }
      auto j = parse_json_strict(res->body);
      if (!j) return j.error().context("cell answer");
      return j;
    }));
  std::vector<std::pair<std::string, Result<json>>> out;
  for (size_t i = 0; i < cells.size(); ++i) out.emplace_back(cells[i], fs[i].get());
  return out;
}
}  // namespace

Reply Server::Impl::fan_out_audit(const httplib::Request& req, const AuditFilter& f, bool all) {
  AuditFilter local = f;
  bool fan = all && cfg.mode == ServerMode::orchestrator;
  if (fan) {
    local.skip = 0;
    // Each source's first skip + limit entries, at most kMaxAuditLimit (saturating: skip may be
    // as large as INT64_MAX).
    local.limit = f.skip >= kMaxAuditLimit - f.limit ? kMaxAuditLimit : f.skip + f.limit;
  }
  auto entries = store->query_audit(local);
  if (!entries) return from_error(entries.error());
  std::vector<admin::AuditEntry> merged = std::move(*entries);
  std::vector<admin::Source> sources;
  sources.push_back({cfg.self_url, true, "", static_cast<std::int64_t>(merged.size())});
  if (fan) {
    for (auto& e : merged) e.source = cfg.self_url;
    httplib::Params q;
    for (auto& k : f.kinds) q.emplace("kind", k);
    for (auto& o : f.outcomes) q.emplace("outcome", o);
    if (f.tenant_id) q.emplace("tenant_id", std::to_string(*f.tenant_id));
    if (!f.principal.empty()) q.emplace("principal", f.principal);
    if (f.since) q.emplace("since", std::to_string(*f.since));
    if (f.until) q.emplace("until", std::to_string(*f.until));
    q.emplace("limit", std::to_string(local.limit));
    std::string path = httplib::append_query_params("/api/v1/admin/audit", q);
    auto results = fetch_all(
        cfg.cells, [this](const ParsedUrl& u) { return cell_client(u); }, path);
    for (auto& [url, r] : results) {
      admin::Source s{url, false, "", 0};
      if (!r) {
        s.error = r.error().message;
      } else {
        try {
          auto list = r->at("entries").get<std::vector<admin::AuditEntry>>();
          for (auto& e : list) {
            e.source = url;
            merged.push_back(std::move(e));
          }
          s.ok = true;
          s.count = static_cast<std::int64_t>(list.size());
        } catch (const std::exception& ex) {
          s.error = std::string("malformed answer: ") + ex.what();
        }
      }
      sources.push_back(std::move(s));
    }
    std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) {
      if (a.time != b.time) return a.time > b.time;
      return a.id > b.id;
    });
    auto skip = std::min<size_t>(static_cast<size_t>(f.skip), merged.size());
    merged.erase(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(skip));
    if (merged.size() > static_cast<size_t>(f.limit)) merged.resize(static_cast<size_t>(f.limit));
  }
  (void)req;
  Reply r;
  r.body = json{{"entries", merged}, {"sources", sources}};
  return r;
}

Reply Server::Impl::fan_out_fenced(bool all) {
  auto leases = store->list_fenced();
  if (!leases) return from_error(leases.error());
  std::vector<admin::FencedLease> merged = std::move(*leases);
  std::vector<admin::Source> sources;
  sources.push_back({cfg.self_url, true, "", static_cast<std::int64_t>(merged.size())});
  if (all && cfg.mode == ServerMode::orchestrator) {
    for (auto& l : merged) l.source = cfg.self_url;
    auto results = fetch_all(
        cfg.cells, [this](const ParsedUrl& u) { return cell_client(u); },
        "/api/v1/admin/fenced-leases");
    for (auto& [url, r] : results) {
      admin::Source s{url, false, "", 0};
      if (!r) {
        s.error = r.error().message;
      } else {
        try {
          auto list = r->at("leases").get<std::vector<admin::FencedLease>>();
          for (auto& l : list) {
            l.source = url;
            merged.push_back(std::move(l));
          }
          s.ok = true;
          s.count = static_cast<std::int64_t>(list.size());
        } catch (const std::exception& ex) {
          s.error = std::string("malformed answer: ") + ex.what();
        }
      }
      sources.push_back(std::move(s));
    }
    std::stable_sort(merged.begin(), merged.end(),
                     [](const auto& a, const auto& b) { return a.fenced_at > b.fenced_at; });
  }
  Reply r;
  r.body = json{{"leases", merged}, {"sources", sources}};
  return r;
}

void Server::Impl::install_routes() {
  // POST /tenants {"name","quota_mem"[,"quota_cpu"]}
  route("POST", "/tenants", "tenant", Access::admin_write, [this](auto& req, auto& p) {
    auto body = parse_body(req, {"name", "quota_mem", "quota_cpu"});
    if (!body) return from_error(body.error());
    auto name = get_str(*body, "name", true);
    if (!name) return from_error(name.error());
    if (auto c = check_name(*name); !c) return from_error(c.error());
    auto mem = get_u64(*body, "quota_mem", false);
    if (!mem) return from_error(mem.error());
    auto cpu = get_u64(*body, "quota_cpu", false);
    if (!cpu) return from_error(cpu.error());
    auto t = store->create_tenant(*name, *mem, *cpu, "", now_s(), audit_for("tenant", p, req));
    Reply r = t ? ok_reply(201, json(*t)) : from_error(t.error());
    r.audited = true;
    return r;
  });
  route("GET", "/tenants", "tenant", Access::read, [this](auto&, auto& p) {
    auto snap = tenants_snapshot(p.state_version);
    if (!snap) return from_error(snap.error());
    Reply r;
    if (p.role == Role::tenant) {
      std::vector<admin::Tenant> own;
      for (const auto& t : (*snap)->tenants)
        if (t.name == p.tenant) own.push_back(t);
      r.raw = tenants_json(own);
    } else {
      r.raw = (*snap)->json;
    }
    return r;
  });
  route("POST", R"(/tenants/([^/]+)/quota)", "tenant", Access::admin_write,
        [this](auto& req, auto& p) {
          std::string name = req.matches[1];
          if (auto c = check_name(name); !c) return from_error(c.error());
          auto body = parse_body(req, {"mem", "cpu", "force"});
          if (!body) return from_error(body.error());
          auto mem = get_u64(*body, "mem", false);
          if (!mem) return from_error(mem.error());
          auto cpu = get_u64(*body, "cpu", false);
          if (!cpu) return from_error(cpu.error());
          auto force = get_bool(*body, "force");
          if (!force) return from_error(force.error());
          auto t = store->set_quota(name, *mem, *cpu, *force, now_s(), audit_for("tenant", p, req));
          Reply r = t ? ok_reply(200, json(*t)) : from_error(t.error());
          r.audited = true;
          return r;
        });
  route("DELETE", R"(/tenants/([^/]+))", "tenant", Access::admin_write, [this](auto& req, auto& p) {
    std::string name = req.matches[1];
    if (auto c = check_name(name); !c) return from_error(c.error());
    auto force = parse_flag(req, "force");
    if (!force) return from_error(force.error());
    auto n = store->delete_tenant(name, *force, now_s(), audit_for("tenant", p, req));
    Reply r =
        n ? ok_reply(200, json{{"deleted", name}, {"released_leases", *n}}) : from_error(n.error());
    r.audited = true;
    return r;
  });
  // Leases.
  route("POST", R"(/tenants/([^/]+)/leases)", "lease", Access::lease, [this](auto& req, auto& p) {
    std::string name = req.matches[1];
    if (auto c = check_name(name); !c) return from_error(c.error());
    if (p.role == Role::tenant && p.tenant != name)
      return error_reply(403, "forbidden",
                         "forbidden: tenant '" + p.tenant + "' may only mint its own leases");
    auto body = parse_body(req, {"mem", "cpu", "ttl_seconds"});
    if (!body) return from_error(body.error());
    auto mem = get_u64(*body, "mem", false);
    if (!mem) return from_error(mem.error());
    auto cpu = get_u64(*body, "cpu", false);
    if (!cpu) return from_error(cpu.error());
    auto ttl = get_u64(*body, "ttl_seconds", false, 3600);
    if (!ttl) return from_error(ttl.error());
    if (*mem == 0 && *cpu == 0)
      return error_reply(400, "bad_request", "a lease needs mem or cpu greater than 0");
    if (*ttl == 0 || *ttl > 366ull * 86400)
      return error_reply(400, "bad_request", "ttl_seconds must be 1..31622400");
    auto a = audit_for("lease", p, req);
    auto l = store->mint_lease(name, *mem, *cpu, static_cast<std::int64_t>(*ttl), p.name,
                               cfg.node_id, now_s(), a);
    Reply r;
    if (l) {
      r = ok_reply(201, json(*l));
      r.audited = true;
    } else {
      r = from_error(l.error());
      r.audited = true;
    }
    return r;
  });
  route("POST", R"(/leases/([^/]+)/release)", "lease", Access::lease, [this](auto& req, auto& p) {
    auto id = canonical_lease_id(req.matches[1]);
    if (!id) return from_error(id.error());
    if (auto b = parse_body(req, {}); !b) return from_error(b.error());
    if (p.role == Role::tenant) {
      auto l = store->get_lease(*id);
      if (!l) return from_error(l.error());
      if (l->tenant != p.tenant)
        return error_reply(403, "forbidden",
                           "forbidden: lease " + *id + " belongs to another tenant");
    }
    auto l = store->release_lease(*id, now_s(), audit_for("lease", p, req));
    Reply r = l ? ok_reply(200, json(*l)) : from_error(l.error());
    r.audited = true;
    return r;
  });
  route("POST", R"(/admin/leases/([^/]+)/fence)", "lease", Access::admin_write,
        [this](auto& req, auto& p) {
          auto id = canonical_lease_id(req.matches[1]);
          if (!id) return from_error(id.error());
          auto body = parse_body(req, {"reason"});
          if (!body) return from_error(body.error());
          auto reason = get_str(*body, "reason", false);
          if (!reason) return from_error(reason.error());
          if (reason->empty()) *reason = "fenced";
          if (*reason != "fenced" && *reason != "failed" && *reason != "skipped")
            return error_reply(400, "bad_request", "reason must be fenced, failed or skipped");
          auto f = store->fence_lease(*id, *reason, now_s(), audit_for("lease", p, req));
          Reply r = f ? ok_reply(200, json(*f)) : from_error(f.error());
          r.audited = true;
          return r;
        });
  route("POST", R"(/admin/fenced-leases/([^/]+)/unfence)", "lease", Access::admin_write,
        [this](auto& req, auto& p) {
          auto id = canonical_lease_id(req.matches[1]);
          if (!id) return from_error(id.error());
          if (auto b = parse_body(req, {}); !b) return from_error(b.error());
          auto f = store->unfence_lease(*id, now_s(), audit_for("lease", p, req));
          Reply r = f ? ok_reply(200, json(*f)) : from_error(f.error());
          r.audited = true;
          return r;
        });
  route("GET", "/admin/fenced-leases", "admin", Access::admin_read,
        [this](auto&, auto&) { return fan_out_fenced(false); });
  route("GET", "/admin/fenced-leases/all", "admin", Access::admin_read,
        [this](auto&, auto&) { return fan_out_fenced(true); });
  route("GET", "/admin/audit", "admin", Access::admin_read, [this](auto& req, auto&) {
    AuditFilter f;
    for (auto& [k, v] : req.params) {
      if (k == "kind") {
        f.kinds.push_back(v);
      } else if (k == "outcome") {
        f.outcomes.push_back(v);
      } else if (k == "principal") {
        f.principal = v;
      } else if (k == "tenant_id" || k == "since" || k == "until" || k == "skip" || k == "limit") {
        auto n = parse_i64(k, v, k == "skip" || k == "limit" || k == "tenant_id");
        if (!n) return from_error(n.error());
        if (k == "tenant_id") f.tenant_id = *n;
        if (k == "since") f.since = *n;
        if (k == "until") f.until = *n;
        if (k == "skip") f.skip = *n;
        if (k == "limit") f.limit = std::min(*n, kMaxAuditLimit);
      } else if (k != "all") {
        return error_reply(400, "bad_request", "unknown query parameter '" + k.substr(0, 40) + "'");
      }
    }
    auto all = parse_flag(req, "all");
    if (!all) return from_error(all.error());
    return fan_out_audit(req, f, *all);
  });
  // Cells.
  route("POST", "/cells/register", "cell", Access::cell, [this](auto& req, auto& p) {
    if (auto b = parse_body(req, {}); !b) return from_error(b.error());
    auto c = store->register_cell(p.provider, p.cell_id, now_s(), audit_for("cell", p, req));
    Reply r = c ? ok_reply(200, json{{"provider", c->provider},
                                     {"cell_id", c->cell_id},
                                     {"registered_at", c->registered_at}})
                : from_error(c.error());
    r.audited = true;
    return r;
  });
  route("GET", "/cells/work/poll", "cell", Access::cell, [this](auto&, auto& p) {
    auto reg = store->cell_registered(p.provider, p.cell_id);
    if (!reg) return from_error(reg.error());
    if (!*reg)
      return error_reply(409, "not_registered",
                         "cell " + p.provider + ":" + p.cell_id +
                             " is not registered; POST /cells/register first");
    return ok_reply(200, json{{"work", json::array()}, {"poll_after_seconds", 30}});
  });
  route("POST", "/cells/work/complete", "cell", Access::cell, [](auto& req, auto&) {
    auto body = parse_body(req, {"work_id", "result"});
    if (!body) return from_error(body.error());
    auto id = get_str(*body, "work_id", true);
    if (!id) return from_error(id.error());
    return error_reply(404, "not_found", "no outstanding work item '" + id->substr(0, 64) + "'");
  });
  // Anything else under the API: authenticated 404 (audited like the rest).
  for (const char* m : {"GET", "POST", "DELETE"})
    route(m, "/.*", "auth", Access::read, [](auto& req, auto&) {
      return error_reply(404, "not_found", "no such endpoint " + req.path.substr(0, 100));
    });
}

Server::~Server() = default;

int Server::port() const { return impl_->port; }

Result<std::unique_ptr<Server>> Server::create(ServerConfig config, Store& store) {
  std::unique_ptr<Server> s(new Server());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.cfg = std::move(config);
  im.store = &store;
  if (im.cfg.key.key) {
    im.server_key = std::move(im.cfg.key);
  } else {
    auto key = load_server_key(im.cfg.key_ref, im.cfg.cert_path, im.cfg.interaction);
    if (!key) return std::move(key).error();
    im.server_key = std::move(*key);
  }
  if (im.cfg.auth != AuthMode::token && im.cfg.client_ca.empty())
    return make_error(Errc::usage, "--client-ca is required with --auth mtls and mtls+token");
  for (auto& url : im.cfg.cells)
    if (auto u = parse_https_url(url); !u) return u.error();
  ERR_clear_error();
  im.http = std::make_unique<httplib::SSLServer>([&im](SSL_CTX& ctx) { return im.setup_ctx(ctx); });
  if (!im.http->is_valid())
    return ossl_error(Errc::tls, "setting up TLS (certificate " + im.cfg.cert_path +
                                     ", client CA " + im.cfg.client_ca + ")");
  int threads = im.cfg.threads;
  im.http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  im.http->set_payload_max_length(im.cfg.max_body);
  im.http->set_tcp_nodelay(true);
  im.http->set_keep_alive_max_count(100000);
  im.http->set_keep_alive_timeout(10);
  im.http->set_read_timeout(10, 0);
  im.http->set_write_timeout(10, 0);
  im.http->set_pre_routing_handler([&im](const httplib::Request& req, httplib::Response& res) {
    auto refusal = body_framing_refusal(req, im.cfg.max_body);
    if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
    im.audit_refusal(
        req, refusal->status,
        "HTTP " + std::to_string(refusal->status) + " " + refusal->code + ": " + refusal->message);
    res.status = refusal->status;
    // The body was not read: the connection cannot carry another request.
    res.set_header("Connection", "close");
    res.set_content(json(admin::ErrorBody{refusal->code, refusal->message}).dump(), kJsonType);
    return httplib::Server::HandlerResponse::Handled;
  });
  im.http->set_error_handler(httplib::Server::HandlerWithResponse(
      [&im](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        // Refused before any route ran (413 body too large, 400 bad request line, 404 outside
        // /api).
        im.audit_refusal(req, res.status, "HTTP " + std::to_string(res.status));
        std::string code = default_code(res.status);
        std::string msg = res.status == 413
                              ? "request body exceeds " + std::to_string(im.cfg.max_body) + " bytes"
                              : "request refused (HTTP " + std::to_string(res.status) + ")";
        res.set_content(json(admin::ErrorBody{code, msg}).dump(), kJsonType);
        return httplib::Server::HandlerResponse::Handled;
      }));
  im.install_routes();
  im.http->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    // Security headers on every response (testssl and browsers look for them).
    for (auto [name, value] : {
             std::pair{"Strict-Transport-Security", "max-age=31536000"},
             std::pair{"X-Content-Type-Options", "nosniff"},
             std::pair{"Cache-Control", "no-store"},
             std::pair{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
             std::pair{"X-Frame-Options", "DENY"},
             std::pair{"Referrer-Policy", "no-referrer"},
         }) {
      res.headers.erase(name);
      res.set_header(name, value);
    }
  });
  if (im.cfg.port == 0)
    im.port = im.http->bind_to_any_port(im.cfg.host);
  else
    im.port = im.http->bind_to_port(im.cfg.host, im.cfg.port) ? im.cfg.port : -1;
  if (im.port <= 0)
    return make_error(Errc::network, "cannot listen on " + im.cfg.host + ":" +
                                         std::to_string(im.cfg.port) + ": " + strerror(errno));
  if (im.cfg.self_url.empty())
    im.cfg.self_url = "https://" + im.cfg.host + ":" + std::to_string(im.port);
  return s;
}

Result<void> Server::run() {
  if (!impl_->http->listen_after_bind())
    return make_error(Errc::network, "the accept loop stopped with an error");
  return ok();
}

void Server::stop() { impl_->http->stop(); }

}  // namespace grafos::registry
