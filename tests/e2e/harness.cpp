#include "tests/e2e/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace grafos::e2e {
namespace {

std::vector<std::string> child_env(const EnvOverrides& env) {
  std::map<std::string, std::string> m;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq);
    if (k.starts_with("GRAFOS_") || k == "NO_COLOR") continue;
    m[k] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) {
    if (v)
      m[k] = *v;
    else
      m.erase(k);
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k + "=" + v);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ProcResult run(const std::vector<std::string>& argv, const EnvOverrides& env,
               const std::string& input, int timeout_s) {
  ProcResult res;
  int in_p[2], out_p[2], err_p[2];
  if (pipe(in_p) || pipe(out_p) || pipe(err_p)) return res;
  auto envs = child_env(env);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_p[0], 0);
    dup2(out_p[1], 1);
    dup2(err_p[1], 2);
    for (int fd : {in_p[0], in_p[1], out_p[0], out_p[1], err_p[0], err_p[1]}) close(fd);
    setsid();  // no controlling terminal: the child sees none, as under CI
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(in_p[0]);
  close(out_p[1]);
  close(err_p[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) (void)!write(in_p[1], input.data(), input.size());
  close(in_p[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  pollfd fds[2] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  bool killed = false;
  while (open_fds > 0) {
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count());
    if (ms <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, ms) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? res.out : res.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st = 0;
  waitpid(pid, &st, 0);
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (killed) res.err += "\n[harness: killed after timeout]";
  return res;
}

std::string tool_path(const char* env_name) {
  const char* p = std::getenv(env_name);
  return p ? p : "";
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/grafos-e2e-XXXXXX";
  if (mkdtemp(tmpl)) path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

Pki Pki::make(const std::filesystem::path& dir) {
  Pki p;
  p.dir = dir;
  std::string ca = tool_path("GRAFOS_CA_TOOL");
  auto step = [&](const std::vector<std::string>& args) {
    if (!p.error.empty()) return;
    std::vector<std::string> argv{ca};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv);
    if (r.status != 0) {
      p.error = "grafos-ca";
      for (size_t i = 1; i < argv.size() && i < 3; ++i) p.error += " " + argv[i];
      p.error += " failed (" + std::to_string(r.status) + "): " + r.err;
    }
  };
  auto d = [&](const std::string& s) { return (dir / s).string(); };
  step({"init-ca", "--out", d("ca")});
  p.ca_cert = d("ca/ca.pem");
  p.ca_key = d("ca/ca-key.pem");
  step({"issue-server-cert", "--ca-cert", p.ca_cert, "--ca-key", p.ca_key, "--san",
        "127.0.0.1,localhost", "--out", d("server")});
  p.server = {d("server/server.pem"), d("server/server-key.pem")};
  auto client = [&](const std::string& name, const std::string& cacert, const std::string& cakey,
                    std::vector<std::string> extra) {
    std::vector<std::string> a{"issue-cert", "--ca-cert", cacert, "--ca-key",
                               cakey,        "--out",     d(name)};
    a.insert(a.end(), extra.begin(), extra.end());
    step(a);
    return Identity{d(name + "/client.pem"), d(name + "/client-key.pem")};
  };
  p.admin = client("admin", p.ca_cert, p.ca_key, {"--role", "fabric-admin"});
  p.observer = client("observer", p.ca_cert, p.ca_key, {"--role", "fabric-observer"});
  p.tenant_acme = client("acme", p.ca_cert, p.ca_key, {"--role", "tenant", "--tenant", "acme"});
  p.tenant_globex =
      client("globex", p.ca_cert, p.ca_key, {"--role", "tenant", "--tenant", "globex"});
  p.cell = client("cell", p.ca_cert, p.ca_key,
                  {"--role", "cell", "--provider", "lab", "--cell-id", "7"});
  step({"init-ca", "--out", d("foreign"), "--cn", "Foreign CA"});
  p.foreign_ca_cert = d("foreign/ca.pem");
  p.foreign_admin = client("foreign-admin", p.foreign_ca_cert, d("foreign/ca-key.pem"),
                           {"--role", "fabric-admin"});
  return p;
}

bool Registry::start(const Pki& pki, const std::filesystem::path& dir,
                     const std::vector<std::string>& extra, std::string* error) {
  std::filesystem::create_directories(dir);
  db_ = (dir / "registry.db").string();
  log_path_ = (dir / "registry.log").string();
  std::string ready = (dir / "ready").string();
  std::vector<std::string> argv{tool_path("GRAFOS_REGISTRY"),
                                "serve",
                                "--listen",
                                "127.0.0.1:0",
                                "--db",
                                db_,
                                "--cert",
                                pki.server.cert,
                                "--key",
                                pki.server.key,
                                "--client-ca",
                                pki.ca_cert,
                                "--ready-file",
                                ready};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    std::string text = slurp(ready);
    if (!text.empty() && text.back() == '\n') {
      port_ = std::atoi(text.c_str());
      if (port_ > 0) return true;
    }
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "grafos-registry exited during start: " + log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *error = "grafos-registry did not become ready in 10 s: " + log();
  stop();
  return false;
}

void Registry::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string Registry::log() const { return slurp(log_path_); }

}  // namespace grafos::e2e
