// Unit tests of the admin wire decoders (admin/wire.hpp): every answer a hostile or broken server
// could send is refused with a clear error naming the field, and no decoder throws or aborts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

#include "admin/render.hpp"
#include "admin/wire.hpp"
#include "util/json.hpp"

namespace grafos::admin {
namespace {

using nlohmann::json;

json parse(std::string_view text) {
  auto j = parse_json_strict(text);
  EXPECT_TRUE(j) << text;
  return j ? *j : json();
}

TEST(WireDecode, WellFormedAnswersRoundTrip) {
  Tenant t;
  t.id = 7;
  t.name = "acme";
  t.quota_mem = std::numeric_limits<std::uint64_t>::max();
  t.usage_cpu = 3;
  t.created_at = -5;
  t.last_used = 1700000000;
  auto back = decode<Tenant>(json(t));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->quota_mem, t.quota_mem);
  EXPECT_EQ(back->created_at, -5);
  EXPECT_EQ(back->last_used, 1700000000);
  // Missing and null optional fields keep their defaults.
  auto minimal = decode<Tenant>(parse(R"({"name":"a","last_used":null,"quota_cpu":null})"));
  ASSERT_TRUE(minimal) << minimal.error().message;
  EXPECT_EQ(minimal->quota_cpu, 0u);
  EXPECT_FALSE(minimal->last_used);
  auto del = decode<DeleteTenantAnswer>(parse(R"({"deleted":"acme","released_leases":2})"));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->released_leases, 2u);
  auto fl = decode<FencedLease>(parse(R"({"lease_id":"00000000000000aa","capacity":4})"));
  ASSERT_TRUE(fl);
  EXPECT_EQ(fl->capacity, 4u);
  auto list = decode_array<AuditEntry>(parse(R"([{"id":1,"tenant_id":-1},{"id":2}])"), "entries");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].tenant_id, -1);
}

struct Hostile {
  const char* type;
  std::string body;
  std::string fragment;  // what the message must say
};

template <class T>
Result<void> decode_one(const json& j) {
  auto r = decode<T>(j);
  if (!r) return std::move(r).error();
  return ok();
}

Result<void> decode_by_type(const std::string& type, const json& j) {
  if (type == "tenant") return decode_one<Tenant>(j);
  if (type == "lease") return decode_one<Lease>(j);
  if (type == "fenced") return decode_one<FencedLease>(j);
  if (type == "audit") return decode_one<AuditEntry>(j);
  if (type == "source") return decode_one<Source>(j);
  if (type == "error") return decode_one<ErrorBody>(j);
  if (type == "delete") return decode_one<DeleteTenantAnswer>(j);
  ADD_FAILURE() << type;
  return ok();
}

TEST(WireDecode, HostileAnswersAreRefusedNamingTheField) {
  const Hostile cases[] = {
      // Floats in integer fields: 1e300 once became -9223372036854775808 (undefined behaviour).
      {"tenant", R"({"name":"a","quota_mem":1e300})", "field 'quota_mem' of a tenant is 1e+300"},
      {"tenant", R"({"name":"a","quota_mem":1e300})", "not an integer"},
      {"tenant", R"({"name":"a","id":1.5})",
       "field 'id' of a tenant is 1.5 (number), not an "
       "integer"},
      {"tenant", R"({"name":"a","usage_cpu":2.0})", "field 'usage_cpu'"},
      {"tenant", R"({"name":"a","created_at":-1e300})", "field 'created_at'"},
      // Negative where unsigned, out of range where signed.
      {"tenant", R"({"name":"a","quota_cpu":-1})",
       "field 'quota_cpu' of a tenant is -1, a negative number"},
      {"tenant", R"({"name":"a","id":18446744073709551615})",
       "field 'id' of a tenant is 18446744073709551615, out of range"},
      {"tenant", R"({"name":"a","last_used":9223372036854775808})", "field 'last_used'"},
      {"lease", R"({"lease_id":"x","mem":-9223372036854775808})", "field 'mem' of a lease"},
      {"source", R"({"url":"u","count":9223372036854775808})", "field 'count' of a source"},
      // Wrong JSON types.
      {"tenant", R"({"name":7})", "field 'name' of a tenant is 7 (number), not a string"},
      {"tenant", R"({"name":"a","status":["x"]})", "field 'status'"},
      {"tenant", R"({"name":"a","quota_mem":"12"})", "is \"12\" (string), not an integer"},
      {"tenant", R"({"name":"a","quota_mem":true})", "(boolean), not an integer"},
      {"tenant", R"({"name":"a","last_used":{}})", "field 'last_used'"},
      {"source", R"({"url":"u","ok":"yes"})",
       "field 'ok' of a source is \"yes\" (string), not "
       "true or false"},
      {"source", R"({"url":"u","ok":1})", "not true or false"},
      {"fenced", R"({"lease_id":"a","source":5})", "field 'source' of a fenced lease"},
      {"fenced", R"({"lease_id":"a","capacity":-3})", "field 'capacity' of a fenced lease is -3"},
      {"fenced", R"({"lease_id":"a","capacity":1e300})", "field 'capacity'"},
      {"audit", R"({"tenant_id":"1"})", "field 'tenant_id' of an audit entry"},
      {"audit", R"({"time":1e19})", "field 'time'"},
      {"error", R"({"error":1})", "field 'error' of an error answer"},
      {"delete", R"({"deleted":"acme","released_leases":"2"})",
       "field 'released_leases' of the delete-tenant answer"},
      {"delete", R"({"deleted":"acme","released_leases":-2})", "a negative number"},
      {"delete", R"({"deleted":"acme","released_leases":1e300})", "not an integer"},
      // Missing required fields; not an object at all.
      {"tenant", R"({"id":1})", "field 'name' of a tenant is missing"},
      {"tenant", R"({"name":null})", "field 'name' of a tenant is missing"},
      {"lease", R"({})", "field 'lease_id' of a lease is missing"},
      {"delete", R"({"released_leases":1})", "field 'deleted'"},
      {"tenant", R"([])", "a tenant is array, not a JSON object"},
      {"delete", R"("ok")", "is string, not a JSON object"},
      {"fenced", R"(null)", "is null, not a JSON object"},
      {"source", R"(3)", "is number, not a JSON object"},
  };
  for (const auto& c : cases) {
    json j = parse(c.body);
    Result<void> r = ok();
    EXPECT_NO_THROW(r = decode_by_type(c.type, j)) << c.body;
    ASSERT_FALSE(r) << c.type << " " << c.body;
    EXPECT_EQ(r.error().code, Errc::network) << c.body;
    EXPECT_EQ(r.error().message.rfind("unexpected answer from the server: ", 0), 0u)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos)
        << c.body << " -> " << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  }
}

TEST(WireDecode, ArraysNameTheEntry) {
  auto r =
      decode_array<Tenant>(parse(R"([{"name":"a"},{"name":"b","quota_mem":1e300}])"), "tenants");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("field 'quota_mem' of entry 2 of tenants (a tenant)"),
            std::string::npos)
      << r.error().message;
  auto notarray = decode_array<Source>(parse(R"({"url":"x"})"), "sources");
  ASSERT_FALSE(notarray);
  EXPECT_NE(notarray.error().message.find("sources is object, not a JSON array"),
            std::string::npos);
}

TEST(WireDecode, ShownValuesAreBoundedAndPrintable) {
  json j = {{"name", std::string(200, 'x') + "\x1b[2K"}, {"quota_mem", "\x1b[31mred"}};
  auto r = decode<Tenant>(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find('\x1b'), std::string::npos) << "escaped, not replayed";
  EXPECT_LT(r.error().message.size(), 200u);
}

TEST(WireDecode, NlohmannConversionThrowsItsOwnErrorNotUndefinedBehaviour) {
  json j = parse(R"({"name":"a","quota_mem":1e300})");
  EXPECT_THROW((void)j.get<Tenant>(), json::type_error);
  EXPECT_THROW((void)parse(R"([{"url":1}])").get<std::vector<Source>>(), json::type_error);
}

// The tables of grafos-admin decode through the same getter.
TEST(WireDecode, RowsRefuseHostileAnswers) {
  auto t = tenant_rows(parse(R"([{"name":"a","usage_mem":1e300}])"), false);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("field 'usage_mem'"), std::string::npos) << t.error().message;
  auto a = audit_rows(parse(R"([{"id":"1"}])"), true);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("field 'id' of entry 1 of entries"), std::string::npos);
  auto f = fenced_lease_rows(parse(R"([{"lease_id":"a","fenced_at":-1.0}])"), true);
  ASSERT_FALSE(f);
  auto s = source_rows(parse(R"([{"url":"u","count":-1.5}])"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("field 'count' of entry 1 of sources"), std::string::npos);
}

// ---- end to end: grafos-admin against a TLS server that answers 200 with hostile bodies ----

// A real TLS server on loopback that answers every request with one canned 200 answer.
class HostileServer {
 public:
  HostileServer(const std::string& cert, const std::string& key, std::string body)
      : body_(std::move(body)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM), 1);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~HostileServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        std::string answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: " +
            std::to_string(body_.size()) + "\r\n\r\n" + body_;
        SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      ::close(c);
      ERR_clear_error();
    }
  }
  std::string body_;
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct RunResult {
  int status = -1;
  std::string err;
};

RunResult run_admin(const std::filesystem::path& dir, const std::vector<std::string>& args) {
  std::string cmd = std::getenv("GRAFOS_ADMIN");
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " </dev/null >/dev/null 2>'" + (dir / "stderr").string() + "'";
  int st = std::system(cmd.c_str());
  RunResult r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  std::ifstream in(dir / "stderr");
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

// delete-tenant and unfence-lease once aborted (exit 134) on a wrongly typed field of a 2xx
// answer, and a float became -9223372036854775808 in a table: every command now exits 10 with
// one line naming the field.
TEST(WireEndToEnd, HostileAnswersNeverAbortACommand) {
  if (!std::getenv("GRAFOS_ADMIN")) GTEST_SKIP() << "GRAFOS_ADMIN not set: run under meson test";
  char tmpl[] = "/tmp/grafos-wire-e2e-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string d = dir.string();
  std::string make =
      "cd '" + d +
      "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
      "-out ca.pem -subj /CN=wire-ca -days 1 -addext basicConstraints=critical,CA:TRUE "
      "-addext keyUsage=critical,keyCertSign >/dev/null 2>&1 && openssl req -newkey ec -pkeyopt "
      "ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 "
      ">/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' "
      "> ext && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
      "-extfile ext -out srv.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(make.c_str()), 0);
  const struct {
    std::vector<std::string> args;
    std::string body;
    std::string fragment;
  } cases[] = {
      {{"delete-tenant", "--name", "acme", "--yes"},
       R"({"deleted":"acme","released_leases":"2"})",
       "field 'released_leases' of the delete-tenant answer is \"2\" (string)"},
      {{"delete-tenant", "--name", "acme", "--yes"},
       R"({"deleted":"acme","released_leases":1e300})",
       "not an integer"},
      {{"delete-tenant", "--name", "acme", "--yes"}, R"([1,2])", "not a JSON object"},
      {{"unfence-lease", "--lease-id", "0xaa", "--yes"},
       R"({"lease_id":"00000000000000aa","capacity":"lots"})",
       "field 'capacity' of a fenced lease"},
      {{"unfence-lease", "--lease-id", "0xaa", "--yes"},
       R"({"capacity":4})",
       "field 'lease_id' of a fenced lease is missing"},
      {{"list-tenants"},
       R"({"tenants":[{"name":"a","quota_mem":1e300}]})",
       "field 'quota_mem' of entry 1 of tenants"},
      {{"list-tenants"}, R"({"tenants":[{"name":"a","usage_cpu":-1}]})", "a negative number"},
      {{"list-fenced-leases"},
       R"({"leases":[{"lease_id":"a","fenced_at":1.5}]})",
       "field 'fenced_at'"},
      {{"audit-query"}, R"({"entries":[{"id":1e300}]})", "field 'id' of entry 1 of entries"},
  };
  for (const auto& c : cases) {
    HostileServer server(d + "/srv.pem", d + "/srv.key", c.body);
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--scheduler", "https://127.0.0.1:" + std::to_string(server.port()),
                             "--ca", d + "/ca.pem", "--timeout", "20"});
    RunResult r = run_admin(dir, args);
    EXPECT_EQ(r.status, 10) << c.body << ": " << r.err;
    EXPECT_NE(r.err.find(c.fragment), std::string::npos) << c.body << ": " << r.err;
    EXPECT_EQ(r.err.find("-9223372036854775808"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace grafos::admin
