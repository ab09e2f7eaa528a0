// Federation on the client side (seed 001): the admin API's federation calls (grants, tokens, peer
// records), the enrollment URL, and the pinned HTTPS requests an enrolling fabric makes to the
// granting one.
//
// Pinning (no trust set up beforehand): the enrollment URL carries the SHA-256 fingerprint of the
// granting fabric's CA certificate. fetch_pinned_ca() asks the granting registry for that
// certificate (GET /api/v1/federation/ca; the one request made before anything is pinned, so its
// connection is not verified) and accepts the answer only when the SHA-256 of the certificate's
// DER equals the fingerprint: a man in the middle cannot forge a certificate with that hash. Every
// further request (the enrollment POST, the peer's reads) is made with that certificate as the
// only trust anchor: libcurl CURLOPT_SSL_VERIFYPEER and CURLOPT_SSL_VERIFYHOST on,
// CURLOPT_CAINFO_BLOB holding just it, no system bundle.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/client.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::admin {

/// What an enrollment URL says.
struct EnrollmentUrl {
  std::string base;  ///< https://HOST:PORT (plus any path prefix before /api/v1)
  SecretString token;
  std::string grant_id;
  std::string peer_id;
  std::string user_id;
  std::string ca_sha256;  ///< 64 lowercase hex digits
};

/// Parses "https://HOST:PORT/api/v1/federation/enroll?token=..&grant=..&peer=..&user=..&
/// ca_sha256=..". Errc::usage naming what is missing or malformed (never echoing the token).
Result<EnrollmentUrl> parse_enrollment_url(std::string_view url);

/// One HTTPS request outside the admin Client: to another fabric's registry.
struct PinnedRequest {
  std::string method = "GET";
  std::string url;
  std::optional<nlohmann::json> body;
  /// The only trust anchor (PEM). Empty: the server is NOT verified (fetch_pinned_ca only).
  std::string ca_pem;
  std::string cert_pem;     ///< client certificate and chain (PEM); empty: none
  EVP_PKEY* key = nullptr;  ///< its private key
  long timeout_ms = 30'000;
};

/// Sends `req`; any HTTP status comes back as a Reply (body parsed when JSON). Transport and TLS
/// failures are Errc::network / Errc::tls.
Result<Reply> pinned_request(const PinnedRequest& req);

/// Fetches the granting fabric's CA certificate from `base` and checks it against `ca_sha256`
/// (Errc::tls when it differs). Returns its PEM.
Result<std::string> fetch_pinned_ca(const std::string& base, const std::string& ca_sha256,
                                    long timeout_ms = 30'000);

// The admin API's federation calls (fabric-admin; paths under /api/v1/admin/federation).
Result<Reply> grant_create(Client& c, const std::string& user, const std::string& peer,
                           const nlohmann::json& scope, std::optional<std::int64_t> expires_in);
Result<Reply> grant_list(Client& c, const std::string& peer, const std::string& status);
Result<Reply> grant_show(Client& c, const std::string& id);
Result<Reply> grant_revoke(Client& c, const std::string& id, const std::string& reason);
Result<Reply> grant_token(Client& c, const std::string& id, std::int64_t ttl);
Result<Reply> peer_list(Client& c);
Result<Reply> peer_keypair(Client& c, const EnrollmentUrl& u, const std::string& ca_pem);
Result<Reply> peer_set_cert(Client& c, const std::string& peer_id, const std::string& cert_pem,
                            const std::string& chain_pem);
Result<Reply> peer_remote_read(Client& c, const std::string& peer_id, const std::string& resource);

}  // namespace grafos::admin
