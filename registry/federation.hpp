// Federation on the registry (seed 001, DESIGN.md section 10): the granting side's grants, their
// scope and single-use enrollment tokens, the online intermediate that signs enrollment CSRs and
// its CRL, the peer principal of the federation read endpoints; and the enrolling side's peer
// records (key and CSR made here, key sealed at rest under the seal secret).
//
// Trust of an enrollment: the URL a `grant token` prints carries the SHA-256 fingerprint of the
// granting fabric's CA certificate (the serve --client-ca). The enrolling side fetches that
// certificate from GET /api/v1/federation/ca (the only request made before anything is pinned;
// its answer proves itself: it is accepted only when its SHA-256 equals the fingerprint), then
// makes every further call with that certificate as the one trust anchor (libcurl
// CURLOPT_SSL_VERIFYPEER and VERIFYHOST on, CURLOPT_CAINFO_BLOB), and checks the issued
// certificate up to it through the intermediate the enrollment answer carries.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hsm/key_manager.hpp"
#include "pki/issuer.hpp"
#include "util/ossl.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::registry {

class Store;

/// The resources a federated peer may be granted (read-only).
const std::vector<std::string>& federation_resources();

/// Longest grant (--expires), in seconds: ten years.
inline constexpr std::int64_t kMaxGrantSeconds = 3650LL * 86400;
/// Default grant lifetime: 365 days.
inline constexpr std::int64_t kDefaultGrantSeconds = 365LL * 86400;
/// Enrollment token lifetime: default and maximum (seed 001: never above 15 minutes).
inline constexpr std::int64_t kDefaultTokenTtl = 900;
inline constexpr std::int64_t kMaxTokenTtl = 900;
/// Largest max_rows_per_query.
inline constexpr std::int64_t kMaxRowsPerQuery = 10000;

/// A grant's scope (the seed's scope file).
struct FedScope {
  std::vector<std::string> resources;
  std::vector<std::string> excluded_resources;
  std::int64_t max_rows_per_query = 100;
  /// Whether `resource` is granted (listed and not excluded).
  bool allows(const std::string& resource) const;
  nlohmann::json to_json() const;
};

/// Parses and checks a scope object: only the three keys; `resources` a non-empty array of known
/// names; `excluded_resources` known names; no name both included and excluded; max_rows_per_query
/// an integer in 1..10000. Errc::invalid_input naming the rule otherwise.
Result<FedScope> parse_scope(const nlohmann::json& j);

/// A grant as stored.
struct FedGrant {
  std::string id;  ///< "grant-" + 32 hex digits
  std::string user_id;
  std::string peer_id;
  FedScope scope;
  std::string status;  ///< stored: pending | active | revoked
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> activated_at;
  std::optional<std::int64_t> revoked_at;
  std::string revoke_reason;
  /// The status at `now`: pending and active grants past expires_at are "expired".
  std::string status_at(std::int64_t now) const;
  nlohmann::json to_json(std::int64_t now) const;
};

/// What `grant create` asks for.
struct FedGrantRequest {
  std::string user_id;
  std::string peer_id;
  FedScope scope;
  std::int64_t expires_in = kDefaultGrantSeconds;  ///< seconds from now
};

/// A certificate the intermediate issued to a peer.
struct FedIssuedCert {
  std::string serial;  ///< lowercase hex
  std::string grant_id;
  std::string peer_id;
  std::int64_t not_after = 0;
  std::int64_t issued_at = 0;
  std::string state;  ///< issued | revoked
  std::optional<std::int64_t> revoked_at;
  std::string cert_pem;
};

/// A peer certificate with its grant, as the read endpoints check it.
struct FedPeerAccess {
  FedIssuedCert cert;
  FedGrant grant;
};

/// What redeeming a token yields.
struct FedEnrollment {
  FedGrant grant;
  std::string cert_pem;
};

/// The enrolling side's record of one enrollment with a remote fabric.
struct FedPeer {
  std::string peer_id;
  std::string remote_url;  ///< https://HOST:PORT of the granting registry
  std::string grant_id;
  std::string user_id;
  std::string ca_fingerprint;  ///< SHA-256 of the granting fabric's CA (pinned)
  std::string ca_pem;          ///< that CA certificate
  std::string sealed_key;      ///< util/seal blob of the PKCS#8 PEM key, AAD = peer id
  std::string key_ref;         ///< a pkcs11: key reference instead of a sealed key
  std::string csr_pem;
  std::string cert_pem;
  std::string chain_pem;  ///< the intermediate(s)
  std::string cert_sha256;
  std::optional<std::int64_t> not_after;
  std::string status;  ///< pending | active
  std::int64_t created_at = 0;
  /// JSON without key material (no sealed key, no key reference's PIN).
  nlohmann::json to_json(std::int64_t now) const;
};

/// The server's federation configuration (serve flags).
struct FederationConfig {
  std::string enroll_ca_cert;  ///< --enroll-ca-cert: the online intermediate (PEM)
  std::string enroll_ca_key;   ///< --enroll-ca-key: its key reference
  std::string seal_secret_file;
  SecretString seal_secret;  ///< read by serve (file or GRAFOS_SEAL_SECRET); empty: none
  /// --peer-key-token: a pkcs11: URI naming a token (pin-source=file: for the PIN); peer keys are
  /// generated in it, object "peer-<peerId>", instead of being sealed. Empty: sealed PEM keys.
  std::string peer_key_token;
  hsm::Interaction interaction;  ///< PIN sources for peer keys in the token
  /// TEST FAULT HOOK (serve --enroll-test-wrong-oids, documented as a test hook): issue peer
  /// certificates whose grant-id extension does not match the grant.
  bool test_wrong_oids = false;
};

/// The registry's federation state: the intermediate (when configured), the fabric CA it pins to,
/// the seal secret. Thread-safe.
class Federation {
 public:
  /// Loads the intermediate (certificate and key through hsm::load_key) when configured, and the
  /// fabric CA certificate (the first of `client_ca`, may be empty).
  static Result<std::unique_ptr<Federation>> open(FederationConfig cfg,
                                                  const std::string& client_ca,
                                                  const hsm::Interaction& interaction);

  /// Whether an intermediate is configured (enrollment and CRL served).
  bool issuing() const { return issuer_.has_value(); }
  /// The fabric CA certificate (null when none was configured).
  X509* fabric_ca() const { return fabric_ca_.get(); }
  /// Its PEM and SHA-256 fingerprint.
  const std::string& fabric_ca_pem() const { return fabric_ca_pem_; }
  const std::string& fabric_ca_fingerprint() const { return fabric_ca_fp_; }
  /// The intermediate's PEM.
  const std::string& intermediate_pem() const { return intermediate_pem_; }

  /// Issues a certificate for `grant` over the CSR (PEM). Serialised (one signer).
  Result<X509Ptr> issue(X509_REQ* csr, const FedGrant& grant);
  /// The intermediate's CRL of revoked peer certificates (DER). Anyone may fetch it, so it is
  /// signed again only when the set of revoked certificates changed or the last one is an hour
  /// old (its nextUpdate is a day later): a request never costs a signature by itself.
  Result<std::string> crl_der(Store& store);
  /// The peer behind a verified client certificate: issued by the intermediate, known to the
  /// store, its grant active. Errc::unauthorized otherwise (revoked or expired grant included).
  Result<FedPeerAccess> peer_of(SSL* ssl, Store& store);

  /// The seal secret (Errc::secret_missing when serve was given none).
  Result<std::string_view> seal_secret() const;
  const FederationConfig& config() const { return cfg_; }

 private:
  Federation() = default;
  FederationConfig cfg_;
  std::mutex mu_;
  std::optional<pki::Issuer> issuer_;
  X509Ptr intermediate_;
  std::string intermediate_pem_;
  X509Ptr fabric_ca_;
  std::string fabric_ca_pem_;
  std::string fabric_ca_fp_;
  // The last CRL signed (DER), the revoked serials it lists, and when it was signed.
  std::string crl_der_;
  std::vector<std::string> crl_serials_;
  std::int64_t crl_signed_at_ = 0;
};

/// The token key reference of `peer_id`'s key: `token_uri` with ";object=peer-<peerId>" added to
/// its path (before any '?query').
std::string peer_key_ref(const std::string& token_uri, const std::string& peer_id);

/// "https://HOST:PORT/api/v1/federation/enroll?token=..&grant=..&peer=..&user=..&ca_sha256=.."
std::string enrollment_url(const std::string& base, std::string_view token, const FedGrant& grant,
                           const std::string& ca_fingerprint);

}  // namespace grafos::registry
