#include <pthread.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "registry/server.hpp"
#include "registry/tls.hpp"
#include "registry/tsa.hpp"
#include "tools/grafos-registry/commands.hpp"
#include "util/file_io.hpp"
#include "util/seal.hpp"

namespace grafos::tools::registry {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:9100";
  std::string db;
  std::string cert;
  std::string key;
  std::string client_ca;
  std::string crl;
  std::string auth = "mtls";
  std::string mode = "cell";
  std::vector<std::string> cells;
  std::string cell_cert;
  std::string cell_key;
  std::string cell_ca;
  std::string cell_bearer_file;
  int cell_timeout_ms = 3000;
  std::string self_url;
  std::string node_id = "node-0";
  int threads = 32;
  std::size_t max_body = 64 * 1024;
  std::size_t max_connections = 0;
  std::string ready_file;
  std::string key_passphrase_file;
  std::string tsa_cert;
  std::string tsa_key;
  // Federation (seed 001).
  std::string enroll_ca_cert;
  std::string enroll_ca_key;
  std::string seal_secret_file;
  std::string peer_key_token;
  bool enroll_test_wrong_oids = false;
};

Result<std::pair<std::string, int>> split_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return make_error(Errc::usage, "--listen must be HOST:PORT (got '" + s + "')");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) port = -1;
  } catch (...) {
  }
  if (port < 0 || port > 65535)
    return make_error(Errc::usage, "--listen port must be 0-65535 (got '" + s + "')");
  return std::make_pair(host, port);
}

// Whether HOST:PORT can be bound now, the same way the server binds it (SO_REUSEADDR, which on
// Linux still refuses a port another socket listens on). Checked before the database is opened,
// so a second `serve` on a busy port creates and migrates nothing; the server's own bind below
// reports the rare port taken in between.
Result<void> check_can_listen(const std::string& host, int port) {
  if (port == 0) return ok();  // the kernel picks a free port
  namespace net = boost::asio;
  using tcp = net::ip::tcp;
  net::io_context ioc;
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
      return make_error(Errc::network, "cannot resolve " + host + ": " + ec.message());
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  tcp::acceptor probe(ioc);
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  if (!ec) return ok();
  std::string why = ec == boost::asio::error::address_in_use
                        ? "the port is in use (is another grafos-registry serving it?)"
                        : ec.message();
  return make_error(Errc::network, "cannot listen on " + host + ":" + std::to_string(port) + ": " +
                                       why + "; nothing was opened or written");
}

void serve(Context& ctx, ServeOptions& o) {
  namespace reg = grafos::registry;
  reg::ServerConfig cfg;
  auto hp = split_listen(o.listen);
  if (!hp) return ctx.fail(hp.error());
  cfg.host = hp->first;
  cfg.port = hp->second;
  cfg.cert_path = o.cert;
  cfg.key_ref = o.key;
  cfg.client_ca = o.client_ca;
  cfg.crl = o.crl;
  cfg.auth = o.auth == "token"        ? reg::AuthMode::token
             : o.auth == "mtls+token" ? reg::AuthMode::mtls_token
                                      : reg::AuthMode::mtls;
  cfg.mode = o.mode == "orchestrator" ? reg::ServerMode::orchestrator : reg::ServerMode::cell;
  if (cfg.mode == reg::ServerMode::cell && !o.cells.empty())
    return ctx.fail(make_error(Errc::usage, "--cell is only meaningful with --mode orchestrator"));
  cfg.cells = o.cells;
  cfg.cell_cert = o.cell_cert;
  cfg.cell_key = o.cell_key;
  cfg.cell_ca = o.cell_ca;
  if (!o.cell_bearer_file.empty()) {
    auto b = read_secret_file(o.cell_bearer_file);
    if (!b) return ctx.fail(b.error());
    cfg.cell_bearer = std::move(*b);
  }
  cfg.cell_timeout_ms = o.cell_timeout_ms;
  cfg.self_url = o.self_url;
  cfg.node_id = o.node_id;
  cfg.threads = o.threads;
  cfg.max_body = o.max_body;
  cfg.max_connections = o.max_connections;
  cfg.interaction = ctx.interaction();
  cfg.interaction.passphrase_file = o.key_passphrase_file;
  cfg.interaction.passphrase_file_option = "--key-passphrase-file";
  if (o.enroll_ca_cert.empty() != o.enroll_ca_key.empty())
    return ctx.fail(make_error(Errc::usage, "--enroll-ca-cert and --enroll-ca-key go together"));
  if (!o.enroll_ca_cert.empty() && o.client_ca.empty())
    return ctx.fail(
        make_error(Errc::usage, "--enroll-ca-cert needs --client-ca (the fabric CA it chains to)"));
  cfg.federation.enroll_ca_cert = o.enroll_ca_cert;
  cfg.federation.enroll_ca_key = o.enroll_ca_key;
  cfg.federation.test_wrong_oids = o.enroll_test_wrong_oids;
  cfg.federation.peer_key_token = o.peer_key_token;
  cfg.federation.interaction = cfg.interaction;
  if (!o.seal_secret_file.empty() || std::getenv(grafos::seal::kSealSecretEnv) != nullptr) {
    auto secret = grafos::seal::read_seal_secret(o.seal_secret_file);
    if (!secret)
      return ctx.fail(std::move(secret).error().context(
          o.seal_secret_file.empty() ? std::string(grafos::seal::kSealSecretEnv)
                                     : "--seal-secret-file"));
    cfg.federation.seal_secret = std::move(*secret);
  }

  // Signals are handled by one thread; block them before any other thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  // The key first, then the certificate's purpose: a wrong PIN, a mismatched key or a client
  // certificate as --cert leaves no database and no listening socket.
  auto key = reg::load_server_key(o.key, o.cert, cfg.interaction);
  if (!key) return ctx.fail(key.error());
  if (auto c = reg::check_server_certificate(o.cert); !c) return ctx.fail(c.error());
  cfg.key = std::move(*key);
  if (o.tsa_cert.empty() != o.tsa_key.empty())
    return ctx.fail(make_error(Errc::usage, "--tsa-cert and --tsa-key go together"));
  if (!o.tsa_cert.empty()) {
    auto tsa = reg::Tsa::open({o.tsa_cert, o.tsa_key, cfg.interaction});
    if (!tsa) return ctx.fail(tsa.error().context("--tsa-cert/--tsa-key"));
    cfg.tsa = std::move(*tsa);
    cfg.tsa_cert = o.tsa_cert;
    cfg.tsa_key = o.tsa_key;
  }
  if (!o.crl.empty()) {
    auto crl = reg::open_crl(o.crl, o.client_ca);
    if (!crl) return ctx.fail(crl.error().context("--crl"));
    cfg.crl_watch = std::move(*crl);
  }

  if (auto l = check_can_listen(cfg.host, cfg.port); !l) return ctx.fail(l.error());
  // The enrollment intermediate too: a bad key or certificate leaves no database behind.
  {
    auto fed = reg::Federation::open(std::move(cfg.federation), o.client_ca, cfg.interaction);
    if (!fed)
      return ctx.fail(std::move(fed).error().context(
          "federation (--enroll-ca-cert/--enroll-ca-key/--client-ca)"));
    cfg.federation_state = std::move(*fed);
  }

  auto store = reg::Store::open(o.db, true);
  if (!store) return ctx.fail(store.error());
  (*store)->start_flusher();
  auto server = reg::Server::create(std::move(cfg), **store);
  if (!server) return ctx.fail(server.error());
  reg::Server& srv = **server;

  std::thread([&srv, set] {
    int sig = 0;
    sigwait(&set, &sig);
    srv.stop();
  }).detach();

  std::cout << "grafos-registry: listening on https://" << hp->first << ":" << srv.port()
            << " (auth " << o.auth << ", mode " << o.mode << ")" << std::endl;
  if (!o.ready_file.empty()) {
    WriteOptions wo;
    wo.overwrite = true;
    if (auto w = write_file_atomic(o.ready_file, std::to_string(srv.port()) + "\n", wo); !w)
      return ctx.fail(w.error());
  }
  if (auto r = srv.run(); !r) return ctx.fail(r.error());
  (*store)->flush();
}

}  // namespace

void add_serve(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ServeOptions>();
  auto* c = app.add_subcommand(
      "serve",
      "Serve the admin API over HTTPS.\n"
      "TLS 1.3, or TLS 1.2 with ECDHE+AEAD suites only. Client certificates are verified against "
      "--client-ca only; the caller's role comes from its single URN SAN "
      "(urn:fabricbios:tenant:<name>, :fabric-observer, :fabric-admin, :cell:<provider>:<id>).\n"
      "Auth modes: mtls (certificate roles), token (bearer tokens from `tenant add` and "
      "`admin-token add`; no client certificate), mtls+token (certificates, and admin writes "
      "also need a FabricAdmin bearer token).\n"
      "Example: grafos-registry serve --listen 127.0.0.1:9100 --db registry.db \\\n"
      "  --cert tls/server.pem --key tls/server-key.pem --client-ca ca/ca.pem");
  c->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0: pick a free port)")
      ->capture_default_str();
  c->add_option("--db", o->db, "SQLite database file (created mode 0600 if missing)")->required();
  c->add_option("--cert", o->cert, "Server certificate chain (PEM)")->required();
  c->add_option("--key", o->key,
                "Server private key: PEM file, pkcs11: URI (PIN from pin-source=file:PATH or "
                "GRAFOS_PKCS11_PIN, never the command line) or TPM key (.tss2.pem, handle:0x...)")
      ->required();
  c->add_option("--key-passphrase-file", o->key_passphrase_file,
                "File holding the PEM server key's passphrase (else GRAFOS_KEY_PASSPHRASE)");
  c->add_option("--client-ca", o->client_ca,
                "Fabric CA certificate (ca.pem): the only trust anchor for client certificates "
                "(required unless --auth token)");
  c->add_option("--crl", o->crl,
                "The fabric CA's CRL (grafos-ca gen-crl): a revoked client certificate is "
                "refused in the handshake and audited; a new file is picked up without a "
                "restart (TLS session resumption is off with --crl)");
  c->add_option("--auth", o->auth, "mtls | token | mtls+token")
      ->check(CLI::IsMember({"mtls", "token", "mtls+token"}))
      ->capture_default_str();
  c->add_option("--mode", o->mode, "cell | orchestrator")
      ->check(CLI::IsMember({"cell", "orchestrator"}))
      ->capture_default_str();
  c->add_option("--cell", o->cells,
                "Orchestrator: https://HOST:PORT of a cell-scheduler (repeatable); --all queries "
                "fan out to each");
  c->add_option("--cell-cert", o->cell_cert,
                "Orchestrator: client certificate presented to cells (fabric-observer or admin)");
  c->add_option("--cell-key", o->cell_key,
                "Orchestrator: key of --cell-cert: PEM file, pkcs11: URI or TPM key (as --key)");
  c->add_option("--cell-ca", o->cell_ca,
                "Orchestrator: CA verifying the cells' server certificates (default --client-ca)");
  c->add_option("--cell-bearer-file", o->cell_bearer_file,
                "Orchestrator: file holding a bearer token sent to cells running --auth token");
  c->add_option("--cell-timeout-ms", o->cell_timeout_ms,
                "Orchestrator: connect/read timeout per cell, milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(100, 60000));
  c->add_option("--self-url", o->self_url,
                "URL this server reports as its own `source` (default https://LISTEN)");
  c->add_option("--node-id", o->node_id, "Node id recorded on minted leases")
      ->capture_default_str();
  c->add_option("--threads", o->threads,
                "Threads serving I/O and requests (connections are asynchronous and not tied "
                "to a thread)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  c->add_option("--max-body", o->max_body, "Largest request body accepted, bytes (else 413)")
      ->capture_default_str()
      ->check(CLI::Range(1024, 16 * 1024 * 1024));
  c->add_option("--max-connections", o->max_connections,
                "Open connections at most; at the cap the one idle longest is closed (0: what the "
                "descriptor limit allows)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  c->add_option("--enroll-ca-cert", o->enroll_ca_cert,
                "Federation: the online enrollment intermediate (grafos-ca issue-intermediate) "
                "that signs peers' enrollment CSRs; its CRL is served at "
                "/api/v1/federation/crl (needs --client-ca, the CA it chains to)");
  c->add_option("--enroll-ca-key", o->enroll_ca_key,
                "Federation: key of --enroll-ca-cert: PEM file or pkcs11: URI (PIN from "
                "pin-source=file:PATH or GRAFOS_PKCS11_PIN)");
  c->add_option("--seal-secret-file", o->seal_secret_file,
                "Federation: file (mode 0600) holding the seal secret that seals enrolled peer "
                "keys at rest (else GRAFOS_SEAL_SECRET)");
  c->add_option("--peer-key-token", o->peer_key_token,
                "Federation: a pkcs11: URI naming a token (PIN from pin-source=file:PATH or "
                "GRAFOS_PKCS11_PIN); this fabric's own peer keys are generated in it (object "
                "peer-<peerId>) instead of being sealed in the database");
  c->add_flag("--enroll-test-wrong-oids", o->enroll_test_wrong_oids,
              "TEST HOOK, never in production: issue peer certificates whose grant-id extension "
              "does not match the grant (proves `grafos-admin peer add` refuses them)");
  c->add_option("--ready-file", o->ready_file,
                "Write the bound port to this file once listening (for port 0)");
  c->add_option("--tsa-cert", o->tsa_cert,
                "Answer RFC 3161 timestamp requests at POST /api/v1/timestamp with this TSA "
                "certificate (grafos-ca issue-cert --role timestamp-authority; its chain may "
                "follow it in the file). SHA-256 imprints only; any principal may ask")
      ->option_text("FILE");
  c->add_option("--tsa-key", o->tsa_key,
                "Key of --tsa-cert: PEM file, pkcs11: URI or TPM key (as --key)")
      ->option_text("REF");
  c->callback([&ctx, o] { serve(ctx, *o); });
}

}  // namespace grafos::tools::registry
