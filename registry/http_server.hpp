// The HTTP/1.1-over-TLS transport of grafos-registry, on Boost.Beast and Boost.Asio: the acceptor,
// one session per connection on a small thread pool, the limits (request line plus headers, header
// count, body size), a deadline on every phase (TLS handshake, headers, body, idle keep-alive,
// write), a cap on open connections that sheds the oldest idle ones first, and refusals that
// always close the connection without reading what follows. What a request means is the HttpApp's
// business (router.cpp).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace grafos::registry {

/// Bounds of the transport.
struct HttpLimits {
  std::size_t header_bytes = 8192;   ///< request line plus headers (else 431)
  std::size_t header_fields = 100;   ///< header fields (else 431)
  std::size_t max_body = 64 * 1024;  ///< request body (else 413)
  /// Open connections; at the cap the oldest idle one is shed. 0: from RLIMIT_NOFILE.
  std::size_t max_connections = 0;
  int threads = 8;  ///< I/O and handler threads
  std::chrono::milliseconds handshake{10'000};
  std::chrono::milliseconds header{10'000};  ///< first request: connection to last header byte
  std::chrono::milliseconds idle{10'000};    ///< keep-alive: end of an answer to the next header
  std::chrono::milliseconds body{10'000};
  std::chrono::milliseconds write{10'000};
  std::chrono::milliseconds linger{2'000};  ///< reading (and dropping) what a refused client sends
};

/// One request as the transport hands it on.
struct HttpRequest {
  std::string method;         ///< as sent ("GET")
  std::string target;         ///< the raw request-target ("/api/v1/tenants?x=1")
  std::string authorization;  ///< the Authorization header (empty when absent)
  SSL* ssl = nullptr;         ///< the connection (peer certificate)
  std::uint64_t content_length = 0;
  std::string body;  ///< read only after HttpApp::admit let the request through
  /// The Content-Type header (empty when absent).
  std::string content_type;
};

/// One answer (always JSON).
struct HttpResponse {
  int status = 200;
  std::string body;
  std::string request_id;  ///< sent as X-Request-Id when set (a 500)
  /// The body's media type; empty: JSON.
  std::string content_type;
};

/// What a request means; called on the session's thread, one request at a time per connection.
class HttpApp {
 public:
  virtual ~HttpApp() = default;
  /// After the headers, before any body byte is read: authenticate and route. An answer here is
  /// sent at once and the connection closed (the body, if any, is never read). nullopt: go on
  /// (the body is read, bounded, then handle() runs). `state` carries the decision to handle().
  virtual std::optional<HttpResponse> admit(HttpRequest& req, std::shared_ptr<void>& state) = 0;
  /// Runs the request.
  virtual HttpResponse handle(HttpRequest& req, std::shared_ptr<void>& state) = 0;
  /// A request the transport refused (limits, framing): audit it and build the JSON answer.
  /// `req` holds what could be parsed (method and target may be empty).
  virtual HttpResponse refuse(const HttpRequest& req, int status, const std::string& message) = 0;
};

/// A bound HTTPS listener.
class HttpServer {
 public:
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Sets up TLS with `tls` (given the server SSL_CTX) and binds host:port (0: any free port).
  static Result<std::unique_ptr<HttpServer>> create(
      const std::string& host, int port, const std::function<Result<void>(SSL_CTX*)>& tls,
      HttpLimits limits, HttpApp& app);
  /// The bound port.
  int port() const;
  /// Serves on limits.threads threads until stop().
  Result<void> run();
  /// Stops serving (thread-safe).
  void stop();

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace grafos::registry
