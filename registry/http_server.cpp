#include "registry/http_server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <iostream>
#include <list>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace grafos::registry {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// JSON declared as UTF-8; nothing is ever compressed (no BREACH-style length oracle).
constexpr const char* kJsonType = "application/json; charset=utf-8";

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// What a client wrote in a header, for a message: at most 40 bytes, printable ASCII.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

struct Refusal {
  int status;
  std::string message;
};

// Only an identity body of declared length is read: anything else is refused from the headers,
// before authentication. A request without Content-Length has no body (RFC 9112 section 6.3), but
// a POST, PUT or PATCH without one is refused so that a client streaming to EOF learns why.
std::optional<Refusal> framing_refusal(const http::fields& h, std::string_view method,
                                       std::size_t max_body) {
  std::string limit = "at most " + std::to_string(max_body) + " bytes";
  if (auto te = h.find(http::field::transfer_encoding); te != h.end())
    return Refusal{411, "Transfer-Encoding '" + shown(te->value()) +
                            "' is not accepted: send the body with a Content-Length (" + limit +
                            ")"};
  for (auto [it, end] = h.equal_range(http::field::content_encoding); it != end; ++it)
    if (!iequals(trim(it->value()), "identity"))
      return Refusal{415, "Content-Encoding '" + shown(it->value()) +
                              "' is not accepted: send the body uncompressed (identity)"};
  if (h.find(http::field::content_length) == h.end())
    for (std::string_view m : {"POST", "PUT", "PATCH"})
      if (method == m)
        return Refusal{411, std::string(m) + " needs a Content-Length header (0 without a body; " +
                                limit + ")"};
  return std::nullopt;
}

// A parse error of the request line or headers, as an answer (nullopt: the peer went away or
// timed out; nothing to answer).
std::optional<Refusal> parse_refusal(const beast::error_code& ec, const HttpLimits& lim) {
  if (ec == http::error::header_limit)
    return Refusal{
        431, "request line and headers exceed " + std::to_string(lim.header_bytes) + " bytes"};
  if (ec == http::error::body_limit)
    return Refusal{413, "request body exceeds " + std::to_string(lim.max_body) + " bytes"};
  if (ec == http::error::bad_transfer_encoding)
    return Refusal{411, "Transfer-Encoding is not accepted: send the body with a Content-Length"};
  if (ec == http::error::multiple_content_length)
    return Refusal{400, "more than one Content-Length header"};
  if (ec == http::error::bad_content_length)
    return Refusal{400, "Content-Length is not a decimal length"};
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message &&
      ec != http::error::need_more)
    return Refusal{400, "malformed request (" + ec.message() + ")"};
  return std::nullopt;
}

}  // namespace

class Session;

struct HttpServer::Impl {
  HttpLimits limits;
  HttpApp* app = nullptr;
  int bound_port = 0;
  ssl::context ctx{ssl::context::tls_server};

  // Open connections, oldest first, for the cap.
  std::mutex mu;
  struct Entry {
    Session* raw;  // read only under mu: ~Session takes mu to remove its entry first
    std::weak_ptr<Session> weak;
  };
  std::list<Entry> sessions;
  std::size_t open = 0;

  net::io_context ioc;  // last: destroyed first, with every session it still holds
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  // Closes the connection idle the longest; false when none is idle.
  bool shed_oldest_idle();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& srv)
      : stream_(std::move(socket), srv.ctx), srv_(srv) {}

  ~Session() {
    std::lock_guard lk(srv_.mu);
    if (registered_) {
      srv_.sessions.erase(self_it_);
      --srv_.open;
    }
  }

  void start() {
    {
      std::lock_guard lk(srv_.mu);
      self_it_ = srv_.sessions.insert(srv_.sessions.end(), {this, weak_from_this()});
      ++srv_.open;
      registered_ = true;
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

  bool idle() const { return idle_.load() && !shed_.load(); }
  std::int64_t idle_since() const { return since_.load(); }

  // Sheds the connection (from any thread).
  void shed() {
    shed_.store(true);  // chosen once: the next shed picks another connection
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      // shutdown wakes the pending read (EOF), whose handler then closes the socket.
      beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(self->stream_).cancel();
    });
  }

 private:
  void set_idle(bool v) {
    since_.store(steady_ns());
    idle_.store(v);
  }
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void handshake() {
    set_idle(true);
    lowest().expires_after(srv_.limits.handshake);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return self->close();
                              self->read_header();
                            });
  }

  void read_header() {
    set_idle(true);
    req_ = HttpRequest{};
    state_.reset();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.limits.header_bytes));
    parser_->body_limit(srv_.limits.max_body);
    lowest().expires_after(first_ ? srv_.limits.header : srv_.limits.idle);
    first_ = false;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void fill_request() {
    const auto& h = parser_->get();
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    req_.ssl = stream_.native_handle();
  }

  void on_header(beast::error_code ec) {
    set_idle(false);
    fill_request();
    if (ec) {
      // Transfer-Encoding with Content-Length: refused for the Transfer-Encoding, as alone.
      if ((ec == http::error::bad_content_length || ec == http::error::bad_transfer_encoding) &&
          parser_->get().find(http::field::transfer_encoding) != parser_->get().end())
        if (auto r = framing_refusal(parser_->get(), req_.method, srv_.limits.max_body))
          return refuse(r->status, r->message);
      if (auto r = parse_refusal(ec, srv_.limits)) return refuse(r->status, r->message);
      return close();
    }
    const auto& h = parser_->get();
    std::size_t fields = static_cast<std::size_t>(std::distance(h.begin(), h.end()));
    if (fields > srv_.limits.header_fields)
      return refuse(431,
                    "more than " + std::to_string(srv_.limits.header_fields) + " header fields");
    if (auto r = framing_refusal(h, h.method_string(), srv_.limits.max_body))
      return refuse(r->status, r->message);
    if (auto a = h.find(http::field::authorization); a != h.end())
      req_.authorization = std::string(a->value());
    if (auto t = h.find(http::field::content_type); t != h.end())
      req_.content_type = std::string(t->value());
    req_.content_length = parser_->content_length().value_or(0);
    std::optional<HttpResponse> early;
    try {
      early = srv_.app->admit(req_, state_);
    } catch (const std::exception& ex) {
      return fail(ex);
    }
    if (early)
      return respond(std::move(*early), req_.content_length > 0 ? Ending::drop : Ending::close);
    if (req_.content_length == 0) return run_handler();
    auto expect = h.find(http::field::expect);
    if (expect != h.end() && iequals(trim(expect->value()), "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      lowest().expires_after(srv_.limits.write);
      return http::async_write(stream_, *cont,
                               [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
                                 if (e) return self->close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    lowest().expires_after(srv_.limits.body);
    http::async_read(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec == http::error::body_limit)
            return self->refuse(413, "request body exceeds " +
                                         std::to_string(self->srv_.limits.max_body) + " bytes");
          if (ec) return self->close();
          self->req_.body = std::move(self->parser_->get().body());
          self->run_handler();
        });
  }

  // The application threw (it should not): a bare 500, the cause on stderr, the connection closed.
  void fail(const std::exception& ex) {
    std::cerr << "grafos-registry: unhandled exception in " << req_.method
              << " request: " << ex.what() << std::endl;
    HttpResponse r;
    r.status = 500;
    r.body = R"({"error":"internal","message":"internal error"})";
    respond(std::move(r), Ending::drop);
  }

  void run_handler() {
    HttpResponse r;
    try {
      r = srv_.app->handle(req_, state_);
    } catch (const std::exception& ex) {
      return fail(ex);
    }
    bool close_after = r.status >= 400 || !parser_->get().keep_alive();
    respond(std::move(r), close_after ? Ending::close : Ending::keep_alive);
  }

  void refuse(int status, const std::string& message) {
    respond(srv_.app->refuse(req_, status, message), Ending::drop);
  }

  // How a connection goes on after an answer: the next request; a TLS close (nothing unread is
  // expected); or, after a refusal that left bytes unread, dropping whatever still arrives.
  enum class Ending { keep_alive, close, drop };

  void respond(HttpResponse r, Ending ending) {
    ending_ = ending;
    bool close_after = ending != Ending::keep_alive;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::content_type, r.content_type.empty() ? kJsonType : r.content_type);
    // Security headers on every answer (testssl and browsers look for them).
    res_.set(http::field::strict_transport_security, "max-age=31536000");
    res_.set("X-Content-Type-Options", "nosniff");
    res_.set(http::field::cache_control, "no-store");
    res_.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    res_.set("X-Frame-Options", "DENY");
    res_.set("Referrer-Policy", "no-referrer");
    if (!r.request_id.empty()) res_.set("X-Request-Id", r.request_id);
    res_.keep_alive(!close_after);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    lowest().expires_after(srv_.limits.write);
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (self->ending_ == Ending::drop) return self->linger();
                        if (self->ending_ == Ending::close) return self->tls_close();
                        self->read_header();
                      });
  }

  // After a closing answer: no more requests are read. The send side is shut and whatever the
  // client still sends (a refused body) is read raw, undecrypted, and dropped for a bounded time,
  // so the answer is not lost to a reset; then the socket is closed.
  // close_notify, then the peer's (or EOF, or the linger deadline), then the socket.
  void tls_close() {
    set_idle(true);
    lowest().expires_after(srv_.limits.linger);
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
  }

  void linger() {
    set_idle(true);
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    lowest().expires_after(srv_.limits.linger);
    drain();
  }

  void drain() {
    lowest().async_read_some(net::buffer(scratch_),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->drained_ += n;
                               if (ec || self->drained_ > (16u << 20)) return self->close();
                               self->drain();
                             });
  }

  void close() {
    beast::error_code ec;
    lowest().socket().close(ec);
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  HttpServer::Impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  HttpRequest req_;
  std::shared_ptr<void> state_;
  bool first_ = true;
  Ending ending_ = Ending::keep_alive;
  std::size_t drained_ = 0;
  std::array<char, 4096> scratch_{};
  std::atomic<bool> idle_{true};
  std::atomic<bool> shed_{false};
  std::atomic<std::int64_t> since_{steady_ns()};
  bool registered_ = false;
  std::list<HttpServer::Impl::Entry>::iterator self_it_;
};

bool HttpServer::Impl::shed_oldest_idle() {
  std::shared_ptr<Session> victim;  // released after mu: it may be the last reference
  {
    std::lock_guard lk(mu);
    const Entry* best = nullptr;
    for (const auto& e : sessions)
      if (e.raw->idle() && (!best || e.raw->idle_since() < best->raw->idle_since())) best = &e;
    if (best) victim = best->weak.lock();
  }
  if (!victim) return false;
  victim->shed();
  return true;
}

void HttpServer::Impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void HttpServer::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors: make room by shedding an idle connection, then accept again shortly.
    if (ec == net::error::no_descriptors || ec.value() == ENFILE) shed_oldest_idle();
    retry.expires_after(std::chrono::milliseconds(10));
    retry.async_wait([this](beast::error_code e) {
      if (!e) do_accept();
    });
    return;
  }
  bool full = false;
  {
    std::lock_guard lk(mu);
    full = open >= limits.max_connections;
  }
  if (full && !shed_oldest_idle()) {
    beast::error_code ignored;
    socket.close(ignored);  // every connection is busy: refuse the new one
  } else {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), *this)->start();
  }
  do_accept();
}

HttpServer::~HttpServer() {
  if (impl_) {
    impl_->ioc.stop();
    beast::error_code ec;
    impl_->acceptor.close(ec);
  }
}

int HttpServer::port() const { return impl_->bound_port; }

Result<std::unique_ptr<HttpServer>> HttpServer::create(
    const std::string& host, int port, const std::function<Result<void>(SSL_CTX*)>& tls,
    HttpLimits limits, HttpApp& app) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.app = &app;
  if (limits.max_connections == 0) {
    // As many connections as descriptors allow (the soft limit raised to the hard one), less a
    // reserve for the database, the log and the key backend.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
      }
      limits.max_connections = rl.rlim_cur > 128 ? static_cast<std::size_t>(rl.rlim_cur - 64) : 64;
    } else {
      limits.max_connections = 960;
    }
  }
  im.limits = limits;
  if (auto r = tls(im.ctx.native_handle()); !r) return r.error();
  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) {
    // A host name: resolve it.
    tcp::resolver resolver(im.ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
      return make_error(Errc::network, "cannot resolve " + host + ": " + ec.message());
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  auto fail = [&](const char* what) {
    return make_error(Errc::network, "cannot listen on " + host + ":" + std::to_string(port) +
                                         ": " + what + ": " + ec.message());
  };
  im.acceptor.open(ep.protocol(), ec);
  if (ec) return fail("socket");
  im.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR");
  im.acceptor.bind(ep, ec);
  if (ec) return fail("bind");
  im.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  im.bound_port = im.acceptor.local_endpoint(ec).port();
  if (ec) return fail("local address");
  return s;
}

Result<void> HttpServer::run() {
  Impl& im = *impl_;
  im.do_accept();
  int n = std::max(1, im.limits.threads);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(n - 1));
  auto serve = [&im] {
    for (;;) {
      try {
        im.ioc.run();
        return;
      } catch (const std::exception& ex) {
        std::cerr << "grafos-registry: unhandled exception in the I/O loop: " << ex.what()
                  << std::endl;
      }
    }
  };
  for (int i = 1; i < n; ++i) pool.emplace_back(serve);
  serve();
  for (auto& t : pool) t.join();
  return ok();
}

void HttpServer::stop() { impl_->ioc.stop(); }

}  // namespace grafos::registry
