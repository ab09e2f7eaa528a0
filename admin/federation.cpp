#include "admin/federation.hpp"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::admin {
namespace {

using nlohmann::json;

struct CurlEasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

constexpr std::size_t kMaxAnswer = 16u << 20;

size_t sink(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t len = size * n;
  if (out->size() + len > kMaxAnswer) return 0;
  out->append(data, len);
  return len;
}

struct ClientIdentity {
  X509Ptr cert;
  std::vector<X509Ptr> chain;
  EVP_PKEY* key = nullptr;
  std::string error;
};

CURLcode install_identity(CURL*, void* ssl_ctx, void* user) {
  auto* id = static_cast<ClientIdentity*>(user);
  STACK_OF(X509)* extra = sk_X509_new_null();
  for (auto& c : id->chain) sk_X509_push(extra, c.get());
  int rc =
      SSL_CTX_use_cert_and_key(static_cast<SSL_CTX*>(ssl_ctx), id->cert.get(), id->key, extra, 1);
  sk_X509_free(extra);
  if (rc != 1) {
    id->error = "installing the peer certificate and key: " + drain_ossl_errors();
    return CURLE_SSL_CERTPROBLEM;
  }
  return CURLE_OK;
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<EnrollmentUrl> parse_enrollment_url(std::string_view text) {
  std::unique_ptr<CURLU, CurlUrlFree> u(curl_url());
  std::string s(text);
  auto bad = [](const std::string& why) {
    return make_error(Errc::usage, "enrollment URL: " + why);
  };
  if (curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK)
    return bad("not a valid URL");
  auto get = [&](CURLUPart part, unsigned flags = 0) -> std::string {
    char* p = nullptr;
    if (curl_url_get(u.get(), part, &p, flags) != CURLUE_OK || !p) return {};
    std::string out(p);
    curl_free(p);
    return out;
  };
  if (lower(get(CURLUPART_SCHEME)) != "https") return bad("must be an https:// URL");
  std::string host = get(CURLUPART_HOST);
  if (host.empty()) return bad("has no host");
  std::string path = get(CURLUPART_PATH);
  constexpr std::string_view kSuffix = "/api/v1/federation/enroll";
  if (!std::string_view(path).ends_with(kSuffix))
    return bad("path must end in /api/v1/federation/enroll");
  EnrollmentUrl out;
  std::string port = get(CURLUPART_PORT);
  out.base = "https://" + host + (port.empty() ? "" : ":" + port) +
             path.substr(0, path.size() - kSuffix.size());
  std::string query = get(CURLUPART_QUERY);
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(kv.substr(0, eq));
    std::string raw(kv.substr(eq + 1));
    int n = 0;
    char* dec = curl_easy_unescape(nullptr, raw.c_str(), static_cast<int>(raw.size()), &n);
    std::string val = dec ? std::string(dec, static_cast<std::size_t>(n)) : std::string();
    curl_free(dec);
    if (key == "token")
      out.token = SecretString(val);
    else if (key == "grant")
      out.grant_id = val;
    else if (key == "peer")
      out.peer_id = val;
    else if (key == "user")
      out.user_id = val;
    else if (key == "ca_sha256")
      out.ca_sha256 = lower(val);
    cleanse_string(val);
  }
  if (out.token.empty()) return bad("has no token");
  if (out.grant_id.empty()) return bad("has no grant id (grant=)");
  if (out.peer_id.empty()) return bad("has no peer id (peer=)");
  if (out.user_id.empty()) return bad("has no user id (user=)");
  if (!is_hex64(out.ca_sha256))
    return bad("ca_sha256 must be the 64-hex-digit SHA-256 fingerprint of the fabric CA");
  return out;
}

Result<Reply> pinned_request(const PinnedRequest& req) {
  std::unique_ptr<CURL, CurlEasyFree> h(curl_easy_init());
  if (!h) return make_error(Errc::internal, "curl_easy_init failed");
  CURL* c = h.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  Reply reply;
  std::string payload = req.body ? req.body->dump() : std::string();
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const char* hdr) {
    headers.reset(curl_slist_append(headers.release(), hdr));
  };
  add_header("Accept: application/json");
  if (req.body) add_header("Content-Type: application/json");
  add_header("Expect:");
  ClientIdentity id;
  if (!req.cert_pem.empty()) {
    BioPtr bio(BIO_new_mem_buf(req.cert_pem.data(), static_cast<int>(req.cert_pem.size())));
    while (X509* x = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr) {
      if (!id.cert)
        id.cert.reset(x);
      else
        id.chain.emplace_back(x);
    }
    drain_ossl_errors();
    if (!id.cert || !req.key)
      return make_error(Errc::invalid_input, "the peer certificate or key is missing");
    id.key = req.key;
  }
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  curl_blob blob{};
  if (req.ca_pem.empty()) {
    // Only fetch_pinned_ca: the answer is checked against the fingerprint instead.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);
  } else {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);
    blob.data = const_cast<char*>(req.ca_pem.data());
    blob.len = req.ca_pem.size();
    blob.flags = CURL_BLOB_COPY;
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(req.timeout_ms, 10'000L));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "grafos-federation");
  if (id.cert) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, install_identity);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &id);
  }
  if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string text = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
        rc == CURLE_SSL_CERTPROBLEM)
      return make_error(Errc::tls, "TLS with " + req.url.substr(0, req.url.find('?')) +
                                       " failed: " + (id.error.empty() ? text : id.error));
    return make_error(Errc::network,
                      "request to " + req.url.substr(0, req.url.find('?')) + " failed: " + text);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  if (!reply.body.empty())
    if (auto j = parse_json_strict(reply.body); j) reply.json = std::move(*j);
  return reply;
}

Result<std::string> fetch_pinned_ca(const std::string& base, const std::string& ca_sha256,
                                    long timeout_ms) {
  PinnedRequest r;
  r.url = base + "/api/v1/federation/ca";
  r.timeout_ms = timeout_ms;
  auto reply = pinned_request(r);
  if (!reply) return std::move(reply).error().context("fetching the fabric CA to pin");
  if (reply->status != 200)
    return error_from_response(reply->status, reply->body, "fetching the fabric CA to pin");
  std::string pem;
  if (reply->json.is_object())
    if (auto it = reply->json.find("ca_pem"); it != reply->json.end() && it->is_string())
      pem = it->get<std::string>();
  auto cert = x509_from_pem(pem);
  if (!cert)
    return make_error(Errc::tls, "the server at " + base + " sent no CA certificate to pin");
  std::string fp = x509_sha256_fingerprint(cert->get());
  if (fp != ca_sha256)
    return make_error(Errc::tls, "the CA certificate served by " + base + " has SHA-256 " + fp +
                                     ", not the fingerprint " + ca_sha256 +
                                     " the enrollment URL pins: refusing to enroll");
  return pem;
}

Result<Reply> grant_create(Client& c, const std::string& user, const std::string& peer,
                           const json& scope, std::optional<std::int64_t> expires_in) {
  json body{{"user_id", user}, {"peer_id", peer}, {"scope", scope}};
  if (expires_in) body["expires_in"] = *expires_in;
  return c.call("POST", "/admin/federation/grants", "grant create", {}, body);
}

Result<Reply> grant_list(Client& c, const std::string& peer, const std::string& status) {
  Query q;
  if (!peer.empty()) q.emplace_back("peer", peer);
  if (!status.empty()) q.emplace_back("status", status);
  return c.call("GET", "/admin/federation/grants", "grant list", q);
}

Result<Reply> grant_show(Client& c, const std::string& id) {
  return c.call("GET", "/admin/federation/grants/" + encode_path_segment(id),
                "grant show '" + id + "'");
}

Result<Reply> grant_revoke(Client& c, const std::string& id, const std::string& reason) {
  return c.call("PATCH", "/admin/federation/grants/" + encode_path_segment(id) + "/revoke",
                "grant revoke '" + id + "'", {}, json{{"reason", reason}});
}

Result<Reply> grant_token(Client& c, const std::string& id, std::int64_t ttl) {
  return c.call("POST", "/admin/federation/grants/" + encode_path_segment(id) + "/tokens",
                "grant token '" + id + "'", {}, json{{"ttl", ttl}});
}

Result<Reply> peer_list(Client& c) { return c.call("GET", "/admin/federation/peers", "peer list"); }

Result<Reply> peer_keypair(Client& c, const EnrollmentUrl& u, const std::string& ca_pem) {
  return c.call("POST", "/admin/federation/peers/keypair", "peer add: key and CSR", {},
                json{{"peer_id", u.peer_id},
                     {"grant_id", u.grant_id},
                     {"user_id", u.user_id},
                     {"remote_url", u.base},
                     {"ca_sha256", u.ca_sha256},
                     {"ca_pem", ca_pem}});
}

Result<Reply> peer_set_cert(Client& c, const std::string& peer_id, const std::string& cert_pem,
                            const std::string& chain_pem) {
  return c.call("PATCH", "/admin/federation/peers/" + encode_path_segment(peer_id) + "/cert",
                "peer add: storing the certificate", {},
                json{{"cert_pem", cert_pem}, {"chain_pem", chain_pem}});
}

Result<Reply> peer_remote_read(Client& c, const std::string& peer_id, const std::string& resource) {
  return c.call("GET",
                "/admin/federation/peers/" + encode_path_segment(peer_id) + "/remote/" +
                    encode_path_segment(resource),
                "peer read '" + peer_id + "' " + resource);
}

}  // namespace grafos::admin
