// The grafos-registry HTTPS server: what `serve` configures, the server key, and the server that
// ties together TLS (tls.hpp), the transport (http_server.hpp), authentication and roles
// (access.hpp), routing (router.hpp), the handlers (handlers_*.cpp) and the fan-out (fanout.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hsm/key_manager.hpp"
#include "registry/store.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::registry {

class CrlWatch;  // registry/tls.hpp
class Tsa;       // registry/tsa.hpp

/// How callers authenticate.
enum class AuthMode { mtls, token, mtls_token };

/// What the server runs as.
enum class ServerMode { cell, orchestrator };

/// The server's private key and the Signer that owns whatever the key lives in (a PKCS#11
/// session, a TPM provider). The Signer must outlive every use of `key`.
struct ServerKey {
  std::unique_ptr<hsm::Signer> signer;  ///< keeps the token session / provider alive
  EvpPkeyPtr key;                       ///< the private key, for SSL_CTX_use_PrivateKey
};

/// Everything `grafos-registry serve` configures.
struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 9100;
  std::string cert_path;  ///< server certificate chain (PEM)
  std::string key_ref;    ///< server key: PEM path, pkcs11: URI or TPM key reference
  ServerKey key;          ///< preloaded by load_server_key; empty: create() loads key_ref
  std::string client_ca;  ///< fabric ca.pem: the only trust anchor for client certificates
  std::string crl;        ///< the fabric CA's CRL: revoked client certificates are refused
  std::shared_ptr<CrlWatch> crl_watch;  ///< preloaded by open_crl; empty: create() opens crl
  AuthMode auth = AuthMode::mtls;
  ServerMode mode = ServerMode::cell;
  std::vector<std::string> cells;  ///< orchestrator: https://host:port of each cell
  std::string cell_cert;           ///< orchestrator's client certificate towards cells
  std::string cell_key;
  std::string cell_ca;  ///< CA that verifies the cells' server certificates
  SecretString cell_bearer;
  int cell_timeout_ms = 3000;
  std::string self_url;  ///< how entries from this server are tagged in a fan-out
  std::string node_id = "node-0";
  int threads = 32;  ///< I/O and handler threads
  std::size_t max_body = 64 * 1024;
  /// Open connections; at the cap the oldest idle one is shed. 0: from RLIMIT_NOFILE.
  std::size_t max_connections = 0;
  hsm::Interaction interaction;
  /// RFC 3161 TSA (POST /api/v1/timestamp): its certificate (EKU timeStamping, critical; chain
  /// after it) and key reference. Both or neither; neither: the endpoint answers 404.
  std::string tsa_cert;
  std::string tsa_key;
  std::shared_ptr<Tsa> tsa;  ///< preloaded by Tsa::open; empty: create() opens tsa_cert/tsa_key
  /// Federation (seed 001): the enrollment intermediate, the seal secret.
  FederationConfig federation;
  /// Preloaded by Federation::open (serve does, before the database is opened); empty: create()
  /// opens it from `federation`.
  std::shared_ptr<Federation> federation_state;
};

/// Reads and checks --crl (signed by the first certificate of `client_ca`) before anything else
/// is opened: a bad CRL leaves no database and no listening socket.
Result<std::shared_ptr<CrlWatch>> open_crl(const std::string& path, const std::string& client_ca);

/// Opens the server's private key through the hsm backends (PEM file, pkcs11: URI with the PIN
/// from pin-source=file: or the Interaction's PIN variable, TPM key reference) and checks that it
/// matches the leaf certificate in `cert_path`.
Result<ServerKey> load_server_key(const std::string& ref, const std::string& cert_path,
                                  const hsm::Interaction& interaction);

/// A configured, bound server.
class Server {
 public:
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Sets up TLS and routes, and binds the listening socket (port 0 picks a free port).
  static Result<std::unique_ptr<Server>> create(ServerConfig config, Store& store);
  /// The bound port.
  int port() const;
  /// Serves until stop(). Returns an error if the accept loop fails.
  Result<void> run();
  /// Stops serving (thread-safe; callable from a signal-watching thread).
  void stop();

  struct Impl;

 private:
  Server() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace grafos::registry
