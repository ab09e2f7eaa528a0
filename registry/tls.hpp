// The server's TLS policy: TLS 1.3, or TLS 1.2 with ECDHE+AEAD suites only; the server key from
// any key reference the hsm backends open; client certificates verified against the fabric CA
// only, profile-checked, and every refused certificate audited.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

#include <sys/stat.h>

#include "registry/server.hpp"
#include "registry/store.hpp"
#include "util/ossl.hpp"
#include "util/result.hpp"

namespace grafos::registry {

/// The fabric CA's CRL for client certificates (serve --crl), re-read when the file changes (its
/// inode, size or modification time), so a new CRL applies without a restart. A file that does
/// not parse or is not signed by the CA keeps the CRL in force (the error goes to stderr).
class CrlWatch {
 public:
  /// Reads `path` (PEM or DER) and checks its signature against the first certificate of
  /// `client_ca`; refused at startup when either fails.
  static Result<std::unique_ptr<CrlWatch>> open(const std::string& path,
                                                const std::string& client_ca);
  /// The CRL in force now (re-read first when the file changed).
  std::shared_ptr<X509_CRL> current();
  /// Whether `cert` is listed; `why` says so with the CRL number.
  bool revoked(X509* cert, std::string& why);

 private:
  CrlWatch() = default;
  Result<void> load();
  std::string path_;
  X509Ptr ca_;
  std::mutex mu_;
  std::shared_ptr<X509_CRL> crl_;
  struct stat seen_ {};
};

/// What the SSL_CTX is set up from.
struct TlsSetup {
  std::string cert_path;    ///< server certificate chain (PEM)
  EVP_PKEY* key = nullptr;  ///< server private key (loaded by load_server_key)
  std::string client_ca;    ///< trust anchor for client certificates; empty: none requested
  bool verify_clients = true;
  Store* audit = nullptr;   ///< where refused client certificates are audited
  CrlWatch* crl = nullptr;  ///< revoked client certificates are refused in the handshake
};

/// Checks the leaf of the server certificate chain at `cert_path` before anything is opened:
/// its extended key usage must include serverAuth (a tenant's client certificate, or one without
/// the extension, is refused with Errc::invalid_input saying so). Errc::io when unreadable.
Result<void> check_server_certificate(const std::string& cert_path);

/// Applies the policy to `ctx` (a server context). Errors name the file that failed.
Result<void> configure_server_tls(SSL_CTX* ctx, const TlsSetup& setup);

/// How a certificate is named in the audit log: its URN principal when it has a valid one, else
/// "cert:<subject>". Only for certificates that chained to the fabric CA.
std::string cert_label(X509* cert);

/// "unverified:sha256:<hex>": a certificate that did not verify, named by its fingerprint only
/// (nothing it claims about itself is trusted).
std::string unverified_label(X509* cert);

}  // namespace grafos::registry
