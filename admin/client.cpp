#include "admin/client.hpp"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>

#include "hsm/load_key.hpp"
#include "util/file_io.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::admin {
namespace {

using nlohmann::json;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};
struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlEasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view hay, std::string_view needle) {
  return lower(hay).find(needle) != std::string::npos;
}

// "OpenSSL SSL_read: error:0A000418:SSL routines::tlsv1 alert unknown ca, errno 0" ->
// "tlsv1 alert unknown ca".
std::string tidy_tls_text(std::string s) {
  if (auto p = s.rfind("::"); p != std::string::npos) s = s.substr(p + 2);
  if (auto p = s.find(", errno"); p != std::string::npos) s.resize(p);
  return s;
}

// The TLS alerts a server sends when it refuses the client certificate.
bool is_client_cert_alert(std::string_view text) {
  static const char* const kAlerts[] = {"alert unknown ca",
                                        "alert bad certificate",
                                        "certificate required",
                                        "alert certificate unknown",
                                        "alert unsupported certificate",
                                        "alert certificate expired",
                                        "alert certificate revoked",
                                        "alert access denied"};
  for (const char* a : kAlerts)
    if (contains(text, a)) return true;
  return false;
}

size_t write_body(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<std::pair<std::string*, size_t>*>(user);
  size_t len = size * n;
  if (st->first->size() + len > st->second) return 0;  // aborts with CURLE_WRITE_ERROR
  st->first->append(data, len);
  return len;
}

}  // namespace

std::string percent_encode(std::string_view s) {
  global_init_once();
  std::unique_ptr<char, CurlFree> enc(
      curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size())));
  return enc ? std::string(enc.get()) : std::string();
}

std::string encode_path_segment(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == '.'; })) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) out += "%2E";
    return out;
  }
  return percent_encode(s);
}

Result<std::string> build_url(std::string_view base, std::string_view path, const Query& query) {
  global_init_once();
  if (base.empty()) return make_error(Errc::usage, "no scheduler URL was given");
  std::unique_ptr<CURLU, CurlUrlFree> u(curl_url());
  std::string b(base);
  if (b.find("://") == std::string::npos)
    return make_error(Errc::usage,
                      "scheduler URL '" + b + "' has no scheme: use https://HOST:PORT");
  if (curl_url_set(u.get(), CURLUPART_URL, b.c_str(), 0) != CURLUE_OK)
    return make_error(Errc::usage, "scheduler URL '" + b + "' is not a valid URL");
  auto get = [&](CURLUPart part) -> std::string {
    char* p = nullptr;
    if (curl_url_get(u.get(), part, &p, 0) != CURLUE_OK || p == nullptr) return {};
    std::string out(p);
    curl_free(p);
    return out;
  };
  std::string scheme = lower(get(CURLUPART_SCHEME));
  if (scheme != "https")
    return make_error(Errc::usage, "scheduler URL '" + b + "' uses " + scheme +
                                       "://; the admin API is served over TLS only: use https://");
  if (get(CURLUPART_HOST).empty())
    return make_error(Errc::usage, "scheduler URL '" + b + "' has no host");
  if (!get(CURLUPART_QUERY).empty() || !get(CURLUPART_FRAGMENT).empty() ||
      !get(CURLUPART_USER).empty())
    return make_error(Errc::usage,
                      "scheduler URL '" + b + "' must not carry user info, a query or a fragment");
  std::string prefix = get(CURLUPART_PATH);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::string full_path = prefix + "/api/v1" + std::string(path);
  if (curl_url_set(u.get(), CURLUPART_PATH, full_path.c_str(), 0) != CURLUE_OK)
    return make_error(Errc::usage, "cannot build a request path from '" + full_path + "'");
  std::string qs;
  for (const auto& [k, v] : query) {
    if (!qs.empty()) qs += '&';
    qs += percent_encode(k) + "=" + percent_encode(v);
  }
  std::string url = get(CURLUPART_URL);
  // CURLUPART_URL re-normalises; append the query ourselves so its encoding stays exactly ours.
  if (!qs.empty()) url += "?" + qs;
  return url;
}

Result<std::string> normalize_lease_id(std::string_view id) {
  std::string_view s = id;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16 || !std::all_of(s.begin(), s.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c));
      }))
    return make_error(Errc::usage, "lease id '" + std::string(id) +
                                       "' is not 1-16 hex digits (with or without 0x)");
  return std::string(16 - s.size(), '0') + lower(s);
}

Errc conflict_code(std::string_view code) {
  if (code == "quota_below_usage") return Errc::quota_below_usage;
  if (code == "tenant_has_active_leases") return Errc::tenant_has_active_leases;
  if (code == "tenant_exists") return Errc::tenant_exists;
  if (code == "not_fenced") return Errc::lease_not_fenced;
  if (code == "not_active") return Errc::lease_not_active;
  if (code == "quota_exceeded") return Errc::quota_exceeded;
  return Errc::conflict;
}

Error error_from_response(long status, std::string_view body, std::string_view what) {
  std::string code;
  std::string message;
  std::string role;
  if (auto j = parse_json_strict(body); j && j->is_object()) {
    if (auto it = j->find("error"); it != j->end() && it->is_string()) code = *it;
    if (auto it = j->find("message"); it != j->end() && it->is_string()) message = *it;
    for (const char* k : {"required_role", "missing_role", "role"})
      if (auto it = j->find(k); it != j->end() && it->is_string()) {
        role = *it;
        break;
      }
  }
  // "forbidden: requires role X" under code "forbidden": drop the repeated code.
  if (!code.empty() && message.starts_with(code + ": ")) message.erase(0, code.size() + 2);
  // Keep the server's text on one line and bounded.
  for (auto& c : message)
    if (c == '\n' || c == '\r' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  std::string w(what);
  std::string s = std::to_string(status);
  std::string tag = code.empty() ? s : s + " " + code;
  std::string detail = message.empty() ? "" : ": " + message;
  switch (status) {
    case 400:
      return make_error(Errc::invalid_input,
                        w + ": the server refused the request (" + tag + ")" + detail);
    case 401:
      return make_error(Errc::unauthorized, w + ": not authenticated (" + tag + ")" + detail);
    case 403: {
      std::string need = role.empty() ? "" : "; this needs the " + role + " role";
      return make_error(Errc::forbidden, w + ": forbidden (" + tag + ")" + detail + need);
    }
    case 404:
      return make_error(Errc::remote_not_found, w + ": not found (" + tag + ")" + detail);
    case 409:
      return make_error(conflict_code(code), w + ": refused (" + tag + ")" + detail);
    case 413:
      return make_error(Errc::invalid_input, w + ": request too large (" + tag + ")" + detail);
    default:
      break;
  }
  if (status >= 400 && status < 500)
    return make_error(Errc::invalid_input,
                      w + ": the server refused the request (" + tag + ")" + detail);
  return make_error(Errc::network, w + ": the server answered HTTP " + tag + detail);
}

// ---------------------------------------------------------------------------------------------
// Client

struct Client::State {
  ClientOptions opt;
  X509Ptr cert;
  std::vector<X509Ptr> chain;
  std::unique_ptr<hsm::Signer> signer;  // owns whatever the key needs (session, provider)
  EvpPkeyPtr key;                       // private key, an extra reference held by us
  std::string ssl_ctx_error;
};

namespace {

Result<void> load_cert_chain(const std::string& path, X509Ptr& leaf, std::vector<X509Ptr>& chain) {
  auto text = read_file(path);
  if (!text)
    return Error{Errc::io,
                 "reading the client certificate '" + path + "': " + text.error().message};
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  if (!bio) return ossl_error(Errc::crypto, "allocating a BIO");
  while (true) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) break;
    if (!leaf)
      leaf.reset(x);
    else
      chain.emplace_back(x);
  }
  drain_ossl_errors();  // the loop always ends on a "no start line" error
  if (!leaf)
    return Error{Errc::invalid_input,
                 "the client certificate file '" + path + "' holds no PEM certificate"};
  return ok();
}

Result<void> check_client_eku(X509* cert, const std::string& path) {
  uint32_t flags = X509_get_extension_flags(cert);
  if (!(flags & EXFLAG_XKUSAGE))
    return make_error(Errc::invalid_input,
                      "the client certificate '" + path +
                          "' has no extended key usage: a TLS client certificate needs EKU "
                          "clientAuth (grafos-ca issue-cert makes one)");
  if (!(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT)) {
    bool server = (X509_get_extended_key_usage(cert) & XKU_SSL_SERVER) != 0;
    return make_error(Errc::invalid_input,
                      "the client certificate '" + path + "' lacks the clientAuth extended key " +
                          "usage" + (server ? " (it is a server certificate)" : "") +
                          ": the server would refuse it; use a client certificate from grafos-ca "
                          "issue-cert");
  }
  return ok();
}

CURLcode ssl_ctx_callback(CURL* /*curl*/, void* ssl_ctx, void* user) {
  auto* st = static_cast<Client::State*>(user);
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  STACK_OF(X509)* extra = sk_X509_new_null();
  for (auto& c : st->chain) sk_X509_push(extra, c.get());
  int rc = SSL_CTX_use_cert_and_key(ctx, st->cert.get(), st->key.get(), extra, 1);
  sk_X509_free(extra);  // SSL_CTX took its own references
  if (rc != 1) {
    st->ssl_ctx_error = "installing the client certificate and key: " + drain_ossl_errors();
    return CURLE_SSL_CERTPROBLEM;
  }
  return CURLE_OK;
}

}  // namespace

Client::Client(std::unique_ptr<State> s) : s_(std::move(s)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

const std::string& Client::scheduler() const { return s_->opt.scheduler; }

Result<Client> Client::open(ClientOptions options) {
  global_init_once();
  auto st = std::make_unique<State>();
  st->opt = std::move(options);
  auto& o = st->opt;
  if (auto u = build_url(o.scheduler, "", {}); !u) return std::move(u).error();
  if (o.ca.empty())
    return make_error(Errc::usage, "no CA certificate to verify the scheduler with was given");
  {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.ca, ec))
      return make_error(Errc::io, "the CA file '" + o.ca + "' is not a readable file");
  }
  if (o.cert.empty() != o.key.empty())
    return make_error(Errc::usage, o.cert.empty()
                                       ? "a client key was given without its certificate"
                                       : "a client certificate was given without its key");
  if (!o.cert.empty()) {
    if (auto r = load_cert_chain(o.cert, st->cert, st->chain); !r) return std::move(r).error();
    // A server (or CA) certificate would be refused by the server after the handshake with a
    // bare reset; say what is wrong before connecting.
    if (auto e = check_client_eku(st->cert.get(), o.cert); !e) return std::move(e).error();
    // hsm::load_key opens every key form and checks the key against the certificate; a missing
    // key file is a missing local file (6), a missing token or object a key that could not be
    // loaded (5), as grafos-admin(1) documents.
    auto key = hsm::load_key({.ref = o.key,
                              .certificate = st->cert.get(),
                              .certificate_name = "the certificate '" + o.cert + "'",
                              .interaction = o.interaction,
                              .certificate_path = {}});
    if (!key) return std::move(key).error().context("client key");
    st->key = std::move(key->private_key);
    st->signer = std::move(key->signer);
  }
  return Client(std::move(st));
}

Result<Reply> Client::request(std::string_view method, std::string_view path, const Query& query,
                              const std::optional<json>& body) {
  auto url = build_url(s_->opt.scheduler, path, query);
  if (!url) return std::move(url).error();
  std::unique_ptr<CURL, CurlEasyFree> h(curl_easy_init());
  if (!h) return make_error(Errc::internal, "curl_easy_init failed");
  CURL* c = h.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  Reply reply;
  std::pair<std::string*, size_t> sink{&reply.body, s_->opt.max_body};
  std::string payload = body ? body->dump() : std::string();
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const char* hdr) {
    headers.reset(curl_slist_append(headers.release(), hdr));
  };
  add_header("Accept: application/json");
  if (body) add_header("Content-Type: application/json");
  add_header("Expect:");
  std::string m(method);

  curl_easy_setopt(c, CURLOPT_URL, url->c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_CAINFO, s_->opt.ca.c_str());
  curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);  // the --ca file only, no CA directory
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   std::min(s_->opt.connect_timeout_ms, s_->opt.timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s_->opt.timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "grafos-admin");
  if (s_->cert) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_callback);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, s_.get());
  }
  if (!s_->opt.bearer.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, s_->opt.bearer.c_str());
  }
  if (m == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m.c_str());
    if (body || m == "POST") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
    }
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(c);
  std::string where = s_->opt.scheduler;
  if (rc != CURLE_OK) {
    std::string text = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
        return make_error(Errc::network, "cannot connect to " + where + ": " + text);
      case CURLE_COULDNT_RESOLVE_HOST:
        return make_error(Errc::network, "cannot resolve the host of " + where + ": " + text);
      case CURLE_OPERATION_TIMEDOUT:
        return make_error(Errc::network, "timed out talking to " + where + " (" + text + ")");
      case CURLE_PEER_FAILED_VERIFICATION:
        return make_error(Errc::tls, "TLS verification of the server " + where +
                                         " failed: " + text +
                                         " (is the CA file the CA that issued its "
                                         "certificate?)");
      case CURLE_SSL_CACERT_BADFILE:
        return make_error(Errc::io, "cannot use the CA file '" + s_->opt.ca + "': " + text);
      case CURLE_SSL_CERTPROBLEM:
        return make_error(Errc::key_backend, s_->ssl_ctx_error.empty()
                                                 ? "client certificate problem: " + text
                                                 : s_->ssl_ctx_error);
      case CURLE_WRITE_ERROR:
        return make_error(Errc::network, "the answer from " + where + " is larger than " +
                                             std::to_string(s_->opt.max_body) + " bytes");
      default:
        break;
    }
    if (is_client_cert_alert(text))
      return make_error(Errc::tls, "the server " + where + " refused the client certificate (" +
                                       tidy_tls_text(text) +
                                       "): it must be issued by the server's fabric CA, be valid "
                                       "now (not expired or revoked) and carry the clientAuth "
                                       "extended key usage");
    // TLS 1.3: the server checks the client certificate after our side of the handshake is
    // done, so a refusal arrives on the first read -- as an alert, or, when the server resets the
    // connection before we read, as a bare reset with no HTTP answer.
    curl_off_t tls_done = 0;
    curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &tls_done);
    bool no_answer = rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
                     contains(text, "getpeername") || contains(text, "connection reset");
    // The socket error itself ("getpeername() failed with errno 107") says nothing useful.
    if (s_->cert && tls_done > 0 && no_answer)
      return make_error(Errc::tls, "the server " + where +
                                       " closed the connection right after the TLS handshake "
                                       "without an HTTP answer: it refused the client "
                                       "certificate, which must be issued by the server's "
                                       "fabric CA, be valid now (not expired or revoked) and "
                                       "carry the clientAuth extended key usage");
    if (rc == CURLE_SSL_CONNECT_ERROR)
      return make_error(Errc::tls,
                        "TLS handshake with " + where + " failed: " + tidy_tls_text(text));
    return make_error(Errc::network, "request to " + where + " failed: " + text + " (curl " +
                                         std::to_string(static_cast<int>(rc)) + ")");
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<Reply> Client::call(std::string_view method, std::string_view path, std::string_view what,
                           const Query& query, const std::optional<json>& body) {
  auto r = request(method, path, query, body);
  if (!r) return std::move(r).error().context(what);
  if (r->status < 200 || r->status > 299) return error_from_response(r->status, r->body, what);
  if (!r->body.empty()) {
    auto j = parse_json_strict(r->body);
    if (!j)
      return make_error(Errc::network, std::string(what) +
                                           ": the server's answer is not valid JSON (" +
                                           j.error().message + ")");
    r->json = std::move(*j);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// The seven commands' requests

const std::vector<std::string>& audit_kinds() {
  static const std::vector<std::string> kKinds = {
      "auth", "admin", "tenant", "token", "admission", "billing", "lease", "cell", "timestamp"};
  return kKinds;
}

const std::vector<std::string>& audit_outcomes() {
  static const std::vector<std::string> kOutcomes = {"allowed", "denied", "error"};
  return kOutcomes;
}

Query audit_query_params(const AuditFilter& f) {
  Query q;
  for (const auto& k : f.kinds) q.emplace_back("kind", k);
  if (f.tenant_id) q.emplace_back("tenant_id", std::to_string(*f.tenant_id));
  if (!f.principal.empty()) q.emplace_back("principal", f.principal);
  for (const auto& o : f.outcomes) q.emplace_back("outcome", o);
  if (f.since) q.emplace_back("since", std::to_string(*f.since));
  if (f.until) q.emplace_back("until", std::to_string(*f.until));
  if (f.skip) q.emplace_back("skip", std::to_string(*f.skip));
  q.emplace_back("limit", std::to_string(f.limit));
  if (f.all) q.emplace_back("all", "true");
  return q;
}

Result<Reply> create_tenant(Client& c, const std::string& name, std::uint64_t quota_mem) {
  return c.call("POST", "/tenants", "create-tenant '" + name + "'", {},
                json{{"name", name}, {"quota_mem", quota_mem}});
}

Result<Reply> list_tenants(Client& c) { return c.call("GET", "/tenants", "list-tenants"); }

Result<Reply> set_quota(Client& c, const std::string& name, std::optional<std::uint64_t> mem,
                        std::optional<std::uint64_t> cpu, bool force) {
  json body{{"force", force}};
  if (mem) body["mem"] = *mem;
  if (cpu) body["cpu"] = *cpu;
  return c.call("POST", "/tenants/" + encode_path_segment(name) + "/quota",
                "set-quota '" + name + "'", {}, body);
}

Result<Reply> delete_tenant(Client& c, const std::string& name, bool force) {
  return c.call("DELETE", "/tenants/" + encode_path_segment(name), "delete-tenant '" + name + "'",
                {{"force", force ? "true" : "false"}});
}

Result<Reply> audit_query(Client& c, const AuditFilter& f) {
  return c.call("GET", "/admin/audit", "audit-query", audit_query_params(f));
}

Result<Reply> list_fenced_leases(Client& c, bool all) {
  return c.call("GET", all ? "/admin/fenced-leases/all" : "/admin/fenced-leases",
                "list-fenced-leases");
}

Result<Reply> unfence_lease(Client& c, std::string_view lease_id) {
  auto id = normalize_lease_id(lease_id);
  if (!id) return std::move(id).error();
  return c.call("POST", "/admin/fenced-leases/" + *id + "/unfence", "unfence-lease " + *id);
}

}  // namespace grafos::admin
