// The server's TLS policy: TLS 1.3, or TLS 1.2 with ECDHE+AEAD suites only; the server key from
// any key reference the hsm backends open; client certificates verified against the fabric CA
// only, profile-checked, and every refused certificate audited.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "registry/server.hpp"
#include "registry/store.hpp"
#include "util/result.hpp"

namespace grafos::registry {

/// What the SSL_CTX is set up from.
struct TlsSetup {
  std::string cert_path;    ///< server certificate chain (PEM)
  EVP_PKEY* key = nullptr;  ///< server private key (loaded by load_server_key)
  std::string client_ca;    ///< trust anchor for client certificates; empty: none requested
  bool verify_clients = true;
  Store* audit = nullptr;  ///< where refused client certificates are audited
};

/// Applies the policy to `ctx` (a server context). Errors name the file that failed.
Result<void> configure_server_tls(SSL_CTX* ctx, const TlsSetup& setup);

/// How a certificate is named in the audit log: its URN principal when it has a valid one, else
/// "cert:<subject>". Only for certificates that chained to the fabric CA.
std::string cert_label(X509* cert);

/// "unverified:sha256:<hex>": a certificate that did not verify, named by its fingerprint only
/// (nothing it claims about itself is trusted).
std::string unverified_label(X509* cert);

}  // namespace grafos::registry
