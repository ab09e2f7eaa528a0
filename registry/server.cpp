#include "registry/server.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "hsm/load_key.hpp"
#include "registry/access.hpp"
#include "registry/fanout.hpp"
#include "registry/http_server.hpp"
#include "registry/router.hpp"
#include "registry/tls.hpp"
#include "registry/tsa.hpp"
#include "util/ossl.hpp"

namespace grafos::registry {

// ---- server key ----

Result<ServerKey> load_server_key(const std::string& ref, const std::string& cert_path,
                                  const hsm::Interaction& interaction) {
  // The one key loader: any key form, checked against the leaf of the certificate file.
  auto k = hsm::load_key({.ref = ref,
                          .certificate = nullptr,
                          .certificate_name = {},
                          .interaction = interaction,
                          .certificate_path = cert_path});
  if (!k) return std::move(k).error().context("server key (--key)");
  return ServerKey{std::move(k->signer), std::move(k->private_key)};
}

Result<std::shared_ptr<CrlWatch>> open_crl(const std::string& path, const std::string& client_ca) {
  auto w = CrlWatch::open(path, client_ca);
  if (!w) {
    Error e = std::move(w).error();
    if (e.code == Errc::mismatch) e.code = Errc::invalid_input;  // not this CA's CRL
    return e;
  }
  return std::shared_ptr<CrlWatch>(std::move(*w));
}

// ---- the server: TLS, transport, access, routes ----

struct Server::Impl {
  ServerConfig cfg;
  Store* store = nullptr;
  ServerKey server_key;  // outlives http (whose SSL_CTX holds a reference to the key)
  std::unique_ptr<Gatekeeper> gate;
  std::unique_ptr<Fanout> fanout;
  std::unique_ptr<Services> services;
  std::shared_ptr<Tsa> tsa;  // used by the router's timestamp route: outlives http
  std::unique_ptr<Router> router;
  std::shared_ptr<Federation> federation;
  std::shared_ptr<CrlWatch> crl;     // used by every handshake: outlives http
  std::unique_ptr<HttpServer> http;  // last: stopped and destroyed first
};

Server::~Server() {
  if (impl_) impl_->http.reset();
}

int Server::port() const { return impl_->http->port(); }

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
    if (!url.starts_with("https://") || url.size() <= 8)
      return make_error(Errc::usage, "cell URL '" + url + "' must be https://HOST:PORT");
  auto fanout = Fanout::open(im.cfg);
  if (!fanout) return std::move(fanout).error();
  im.fanout = std::move(*fanout);
  im.gate = std::make_unique<Gatekeeper>(im.cfg.auth, store);
  im.router = std::make_unique<Router>(store, *im.gate);
  im.services = std::make_unique<Services>(Services{im.cfg, store, *im.fanout});
  add_tenant_routes(*im.router, *im.services);
  add_lease_routes(*im.router, *im.services);
  add_audit_routes(*im.router, *im.services);
  add_cell_routes(*im.router, *im.services);
  if (im.cfg.tsa_cert.empty() != im.cfg.tsa_key.empty())
    return make_error(Errc::usage, "a TSA needs both its certificate and its key");
  if (im.cfg.tsa) {
    im.tsa = std::move(im.cfg.tsa);
  } else if (!im.cfg.tsa_cert.empty()) {
    auto tsa = Tsa::open({im.cfg.tsa_cert, im.cfg.tsa_key, im.cfg.interaction});
    if (!tsa) return std::move(tsa).error();
    im.tsa = std::move(*tsa);
  }
  if (im.tsa) {
    im.tsa->use_serials([&store](std::uint64_t n) { return store.reserve_tsa_serials(n); });
    add_timestamp_routes(*im.router, *im.tsa);
  }
  if (im.cfg.federation_state) {
    im.federation = std::move(im.cfg.federation_state);
  } else {
    auto fed = Federation::open(std::move(im.cfg.federation), im.cfg.client_ca, im.cfg.interaction);
    if (!fed) return std::move(fed).error();
    im.federation = std::move(*fed);
  }
  {
    im.services->federation = im.federation.get();
    add_federation_routes(*im.router, *im.services);
  }

  if (!im.cfg.crl.empty() && im.cfg.auth == AuthMode::token)
    return make_error(Errc::usage,
                      "--crl checks client certificates: it needs --auth mtls or mtls+token");
  if (im.cfg.crl_watch) {
    im.crl = std::move(im.cfg.crl_watch);
  } else if (!im.cfg.crl.empty()) {
    auto crl = open_crl(im.cfg.crl, im.cfg.client_ca);
    if (!crl) return std::move(crl).error();
    im.crl = std::move(*crl);
  }
  TlsSetup tls;
  tls.crl = im.crl.get();
  tls.cert_path = im.cfg.cert_path;
  tls.key = im.server_key.key.get();
  tls.client_ca = im.cfg.client_ca;
  tls.verify_clients = im.cfg.auth != AuthMode::token;
  tls.audit = &store;
  HttpLimits limits;
  limits.max_body = im.cfg.max_body;
  limits.threads = im.cfg.threads;
  limits.max_connections = im.cfg.max_connections;
  auto http = HttpServer::create(
      im.cfg.host, im.cfg.port, [&tls](SSL_CTX* ctx) { return configure_server_tls(ctx, tls); },
      limits, *im.router);
  if (!http) return std::move(http).error();
  im.http = std::move(*http);
  if (im.cfg.self_url.empty())
    im.cfg.self_url = "https://" + im.cfg.host + ":" + std::to_string(im.http->port());
  return s;
}

Result<void> Server::run() { return impl_->http->run(); }

void Server::stop() { impl_->http->stop(); }

}  // namespace grafos::registry
