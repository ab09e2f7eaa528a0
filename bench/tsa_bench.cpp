// tsa_bench: the two rates bench/tsa.sh compares.
//
//   tsa_bench post HOST PORT CA CERT KEY QUERY CONNS SECONDS
//     CONNS keep-alive TLS connections (client certificate CERT/KEY, server verified against CA),
//     one thread each, POSTing the DER query in QUERY to /api/v1/timestamp as
//     application/timestamp-query for SECONDS; prints "requests N seconds S rate R/s" counting only
//     HTTP 200 application/timestamp-reply answers (any other answer is counted as an error).
//   tsa_bench sign KEYREF THREADS SECONDS
//     The key's own ECDSA signing rate over SHA-256 digests through hsm::load_key (for a pkcs11:
//     URI: libp11 and the module, exactly what the TSA signs with), THREADS threads.
#include <openssl/evp.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "hsm/load_key.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

int post(char** argv) {
  const std::string host = argv[0], port = argv[1], ca = argv[2], cert = argv[3], key = argv[4];
  std::ifstream in(argv[5], std::ios::binary);
  const std::string query((std::istreambuf_iterator<char>(in)), {});
  const int conns = std::stoi(argv[6]);
  const double seconds = std::stod(argv[7]);
  std::atomic<long> ok{0}, errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < conns; ++i)
    threads.emplace_back([&] {
      try {
        net::io_context ioc;
        ssl::context ctx(ssl::context::tls_client);
        ctx.load_verify_file(ca);
        ctx.use_certificate_chain_file(cert);
        ctx.use_private_key_file(key, ssl::context::pem);
        ctx.set_verify_mode(ssl::verify_peer);
        beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
        tcp::resolver resolver(ioc);
        beast::get_lowest_layer(stream).connect(resolver.resolve(host, port));
        stream.handshake(ssl::stream_base::client);
        http::request<http::string_body> req{http::verb::post, "/api/v1/timestamp", 11};
        req.set(http::field::host, host);
        req.set(http::field::content_type, "application/timestamp-query");
        req.keep_alive(true);
        req.body() = query;
        req.prepare_payload();
        beast::flat_buffer buf;
        while (Clock::now() < end) {
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buf, res);
          if (res.result_int() == 200 &&
              res[http::field::content_type] == "application/timestamp-reply")
            ++ok;
          else
            ++errors;
          if (!res.keep_alive()) break;
        }
      } catch (const std::exception& e) {
        ++errors;
        std::fprintf(stderr, "tsa_bench: %s\n", e.what());
      }
    });
  const auto start = Clock::now();
  for (auto& t : threads) t.join();
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("requests %ld errors %ld seconds %.2f rate %.0f/s\n", ok.load(), errors.load(), took,
              static_cast<double>(ok.load()) / took);
  return errors.load() == 0 ? 0 : 1;
}

int sign(char** argv) {
  auto key = grafos::hsm::load_key({.ref = argv[0],
                                    .certificate = nullptr,
                                    .certificate_name = {},
                                    .interaction = {},
                                    .certificate_path = {}});
  if (!key) {
    std::fprintf(stderr, "tsa_bench: %s\n", key.error().message.c_str());
    return 2;
  }
  const int threads_n = std::stoi(argv[1]);
  const double seconds = std::stod(argv[2]);
  std::atomic<long> done{0}, errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < threads_n; ++i)
    threads.emplace_back([&] {
      unsigned char digest[32] = {1, 2, 3};
      unsigned char sig[256];
      while (Clock::now() < end) {
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key->private_key.get(), nullptr);
        size_t len = sizeof sig;
        bool good = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
                    EVP_PKEY_sign(ctx, sig, &len, digest, sizeof digest) == 1;
        EVP_PKEY_CTX_free(ctx);
        good ? ++done : ++errors;
        ++digest[5];
      }
    });
  for (auto& t : threads) t.join();
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("signatures %ld errors %ld seconds %.2f rate %.0f/s\n", done.load(), errors.load(),
              took, static_cast<double>(done.load()) / took);
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "post" && argc == 10) return post(argv + 2);
  if (mode == "sign" && argc == 5) return sign(argv + 2);
  std::fprintf(stderr,
               "usage: tsa_bench post HOST PORT CA CERT KEY QUERY CONNS SECONDS\n"
               "       tsa_bench sign KEYREF THREADS SECONDS\n");
  return 2;
}
