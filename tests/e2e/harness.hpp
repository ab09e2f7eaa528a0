// End-to-end test harness: runs the built executables as real processes (grafos-ca makes the
// certificates, grafos-registry serves on loopback with a fresh database, grafos-admin is the
// client under test) with state in a temporary directory that is always removed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace grafos::e2e {

/// What a finished process left behind.
struct ProcResult {
  int status = -1;  ///< exit status, or 128+signal
  std::string out;
  std::string err;
};

/// Environment changes for a child: value set, or nullopt to unset.
using EnvOverrides = std::map<std::string, std::optional<std::string>>;

/// Runs argv[0] (a path) with the test's environment minus every GRAFOS_* variable and NO_COLOR,
/// plus `env`; feeds `input` on stdin (then closes it); kills it after `timeout_s`.
ProcResult run(const std::vector<std::string>& argv, const EnvOverrides& env = {},
               const std::string& input = "", int timeout_s = 60);

/// Path of a built executable from the test environment (GRAFOS_ADMIN, GRAFOS_REGISTRY,
/// GRAFOS_CA_TOOL); empty when unset.
std::string tool_path(const char* env_name);

/// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A client identity: certificate and key files.
struct Identity {
  std::string cert;
  std::string key;
};

/// A fabric CA with a server certificate for 127.0.0.1 and one client identity per role, made by
/// grafos-ca; plus a foreign CA with its own fabric-admin certificate.
struct Pki {
  std::filesystem::path dir;
  std::string ca_cert, ca_key;
  Identity server;
  Identity admin, observer, tenant_acme, tenant_globex, cell;
  std::string foreign_ca_cert;
  Identity foreign_admin;
  std::string error;  ///< non-empty when grafos-ca could not build this (e.g. not implemented)

  /// Builds everything under `dir`.
  static Pki make(const std::filesystem::path& dir);
};

/// One grafos-registry serve process on 127.0.0.1 with a fresh database.
class Registry {
 public:
  /// Starts `grafos-registry serve` with `extra` flags; waits until it listens.
  bool start(const Pki& pki, const std::filesystem::path& dir,
             const std::vector<std::string>& extra, std::string* error);
  /// SIGTERM, then SIGKILL after 5 s; idempotent.
  void stop();
  ~Registry() { stop(); }

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string db() const { return db_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string db_;
  std::string log_path_;
};

}  // namespace grafos::e2e
