// The grafos-admin HTTPS client: one request per call to the admin wire API (DESIGN.md section 6,
// admin/wire.hpp) over libcurl with mutual TLS.
//
// Transport policy, fixed here so that no caller can weaken it:
//   - https:// only; the server is verified against the --ca file alone (no default bundle, no
//     CA directory), host name checked, TLS 1.2 or newer;
//   - the client certificate chain comes from a PEM file and its key from any key reference
//     hsm::load_key accepts (PEM file, pkcs11: URI, TPM key), installed into OpenSSL
//     through CURLOPT_SSL_CTX_FUNCTION;
//   - redirects are never followed, dot segments are sent as-is, connect and total time are
//     bounded, response bodies are capped;
//   - the bearer token travels only in the Authorization header and never appears in an error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hsm/key_manager.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::admin {

/// Query parameters in order; a key may repeat (kind=a&kind=b).
using Query = std::vector<std::pair<std::string, std::string>>;

/// Percent-encodes `s` for a query value or a path segment (RFC 3986 unreserved kept).
std::string percent_encode(std::string_view s);

/// Encodes one path segment; "." and ".." are encoded too so they cannot act as dot segments.
std::string encode_path_segment(std::string_view s);

/// Builds `base` + "/api/v1" + `path` + "?" + query. `base` must be an https:// URL with a host
/// and no query or fragment (a trailing path such as a reverse-proxy prefix is kept).
/// Errc::usage names what is wrong with `base`.
Result<std::string> build_url(std::string_view base, std::string_view path, const Query& query);

/// Normalises a lease id: optional 0x/0X prefix, 1-16 hex digits, returned as 16 lowercase hex
/// digits (zero-padded). Errc::usage otherwise.
Result<std::string> normalize_lease_id(std::string_view id);

/// Maps a non-2xx answer (status and body) to one clear error line; `what` names the request,
/// e.g. "create-tenant 'acme'". 400/413 -> invalid_input, 401 -> unauthorized, 403 -> forbidden
/// (with the role the server reports missing), 404 -> remote_not_found, 409 -> the domain code of
/// the server's wire code (quota_below_usage, tenant_has_active_leases, tenant_exists,
/// lease_not_fenced, ...; conflict otherwise), 5xx and others -> network. The message names no
/// command-line flag: what to do next is the tool's to say.
Error error_from_response(long status, std::string_view body, std::string_view what);

/// How to reach the scheduler.
struct ClientOptions {
  std::string scheduler;  ///< base URL, https://host:port
  std::string cert;       ///< client certificate chain (PEM); empty: no client certificate
  std::string key;        ///< key reference for `cert`: path, pkcs11: URI or TPM key
  std::string ca;         ///< CA certificate(s) the server must chain to (PEM); required
  SecretString bearer;    ///< bearer token; empty: none
  long connect_timeout_ms = 10'000;
  long timeout_ms = 30'000;      ///< whole request, connect included
  size_t max_body = 64u << 20;   ///< larger answers are refused
  hsm::Interaction interaction;  ///< PIN / passphrase prompts for the key
};

/// One HTTP answer.
struct Reply {
  long status = 0;
  std::string body;     ///< exactly as received
  nlohmann::json json;  ///< parsed body (null when empty)
};

/// An HTTPS client bound to one scheduler and one identity. Not copyable; movable.
class Client {
 public:
  /// Checks the options and loads the client key (may prompt through `interaction`). Errors:
  /// usage (bad URL, no CA file, a certificate without its key), io (unreadable file),
  /// invalid_input (a certificate without the clientAuth extended key usage), key_backend.
  static Result<Client> open(ClientOptions options);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  /// Sends one request. `body` (when set) is sent as application/json. Transport failures map to
  /// network / tls errors; any HTTP status is returned as a Reply (see call() for mapping).
  Result<Reply> request(std::string_view method, std::string_view path, const Query& query = {},
                        const std::optional<nlohmann::json>& body = std::nullopt);

  /// request() plus error_from_response() for non-2xx answers and strict JSON parsing.
  Result<Reply> call(std::string_view method, std::string_view path, std::string_view what,
                     const Query& query = {},
                     const std::optional<nlohmann::json>& body = std::nullopt);

  /// The scheduler base URL.
  const std::string& scheduler() const;

  /// Implementation state (opaque; public only so the TLS callback can reach it).
  struct State;

 private:
  explicit Client(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

/// Filters of audit-query (seed names); empty / unset fields are not sent.
struct AuditFilter {
  std::vector<std::string> kinds;     ///< repeated kind=
  std::vector<std::string> outcomes;  ///< repeated outcome=
  std::optional<std::int64_t> tenant_id;
  std::string principal;
  std::optional<std::int64_t> since;
  std::optional<std::int64_t> until;
  std::optional<std::uint64_t> skip;
  std::uint64_t limit = 100;
  bool all = false;
};

/// The audit kinds the seed documents.
const std::vector<std::string>& audit_kinds();

/// The audit outcomes a server records: allowed, denied, error.
const std::vector<std::string>& audit_outcomes();

/// The query string parameters of an audit query, in a stable order.
Query audit_query_params(const AuditFilter& f);

/// POST /tenants {"name","quota_mem"}.
Result<Reply> create_tenant(Client& c, const std::string& name, std::uint64_t quota_mem);
/// GET /tenants.
Result<Reply> list_tenants(Client& c);
/// POST /tenants/{name}/quota {"mem","cpu","force"}; a quota left unset is not sent, and the
/// server keeps its current value (0 = unlimited).
Result<Reply> set_quota(Client& c, const std::string& name, std::optional<std::uint64_t> mem,
                        std::optional<std::uint64_t> cpu, bool force);
/// DELETE /tenants/{name}?force=true|false.
Result<Reply> delete_tenant(Client& c, const std::string& name, bool force);
/// GET /admin/audit?...
Result<Reply> audit_query(Client& c, const AuditFilter& f);
/// GET /admin/fenced-leases, or /admin/fenced-leases/all when `all`.
Result<Reply> list_fenced_leases(Client& c, bool all);
/// POST /admin/fenced-leases/{lease_id}/unfence; `lease_id` in any form normalize_lease_id takes.
Result<Reply> unfence_lease(Client& c, std::string_view lease_id);

}  // namespace grafos::admin
