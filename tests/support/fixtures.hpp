// Test fixtures that start real key backends with their state in a temporary directory, and
// always stop them. Reusable by every test binary: link `test_support_dep`.
//
//   TempDir dir;                                  // removed recursively on destruction
//   SoftHsmToken hsm("fabric-ca", "1234");        // private SOFTHSM2_CONF + tokendir; sets
//   hsm.uri("ca-key")                             //   SOFTHSM2_CONF in this process
//     -> pkcs11:token=fabric-ca;object=ca-key?module-path=...&pin-source=file:<dir>/pin
//   Swtpm tpm;                                    // swtpm socket --tpm2 on unix sockets
//   tpm.tcti() -> "swtpm:path=<dir>/tpm.sock"     // for TPM2OPENSSL_TCTI / TPM2TOOLS_TCTI
//   Tpm2Pkcs11Token tok(tpm, "tpm-ca", "1234");   // tpm2-pkcs11 store in a temp dir; sets
//   tok.uri("ca-key")                             //   TPM2_PKCS11_TCTI and TPM2_PKCS11_STORE
//   Pkcs11Probe probe(module);                    // raw PKCS#11 for assertions (flags, attrs)
//
// PINs reach the tools, and the tokens, through 0600 files: tokens are initialised by
// tests/support/p11_init_token (C_InitToken, C_InitPIN), never by a PIN on a command line.
// The shell equivalents are tests/support/softhsm-token.sh and tests/support/swtpm.sh.
#pragma once

#include <p11-kit/pkcs11.h>
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace grafos::test {

/// Default module paths on Debian 12.
inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr const char* kTpm2Pkcs11Module = "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1";

/// A private temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "grafos-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// What a finished child process produced.
struct CommandResult {
  int status = -1;     ///< exit status (128+signal when killed)
  std::string output;  ///< stdout and stderr together
};

/// Runs argv[0] (searched in PATH) with extra environment variables; never through a shell.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {});

/// True when `name` is an executable in PATH.
bool have_program(const std::string& name);

/// Writes `content` to `path` with mode 0600.
void write_private_file(const std::filesystem::path& path, const std::string& content);

/// A SoftHSMv2 installation private to this process: its own SOFTHSM2_CONF and token directory.
class SoftHsmToken {
 public:
  /// Creates the configuration, sets SOFTHSM2_CONF in this process and initialises token `label`.
  SoftHsmToken(std::string label, std::string pin, std::string so_pin = "87654321");
  /// Initialises one more token in the same token directory; returns its pin file.
  std::filesystem::path add_token(const std::string& label, const std::string& pin);
  /// pkcs11: URI of object `object` on the first token, PIN from the pin file.
  std::string uri(const std::string& object = "") const;
  /// Same, for another token label and pin file.
  std::string uri_for(const std::string& label, const std::filesystem::path& pin_file,
                      const std::string& object) const;
  /// The token label, module path, pin file, SOFTHSM2_CONF and token directory.
  const std::string& label() const { return label_; }
  std::string module_path() const { return kSoftHsmModule; }
  const std::string& pin() const { return pin_; }
  std::filesystem::path pin_file() const { return dir_.path() / (label_ + ".pin"); }
  std::filesystem::path conf_path() const { return dir_.path() / "softhsm2.conf"; }
  std::filesystem::path token_dir() const { return dir_.path() / "tokens"; }
  /// Environment a child process needs (SOFTHSM2_CONF).
  std::map<std::string, std::string> env() const;
  /// Sets token flag bits (e.g. CKF_USER_PIN_LOCKED) in the token's persisted state, for tokens
  /// whose module is not loaded or not in the middle of a call. SoftHSMv2 itself never sets
  /// CKF_USER_PIN_FINAL_TRY / CKF_USER_PIN_LOCKED (it has no retry limit), so this is the only way
  /// to make a real SoftHSM token report them (its generation counter is moved, so a module that
  /// has the token open reads them too). Returns false when the flags were not found.
  bool set_persisted_token_flags(const std::string& label, unsigned long flags) const;

 private:
  TempDir dir_;
  std::string label_, pin_, so_pin_;
};

/// A software TPM 2.0 (swtpm socket --tpm2) on unix sockets with its state in a temp dir.
class Swtpm {
 public:
  Swtpm();
  ~Swtpm();
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;
  /// TCTI string for tss2 ("swtpm:path=<dir>/tpm.sock").
  std::string tcti() const;
  /// Environment for tpm2-tools (TPM2TOOLS_TCTI).
  std::map<std::string, std::string> env() const;
  /// The state directory.
  const std::filesystem::path& dir() const { return dir_.path(); }
  /// Sets the dictionary-attack parameters (tpm2_dictionarylockout) and clears the counter.
  bool set_lockout(unsigned max_tries);
  /// TPM2_PT_LOCKOUT_COUNTER (failed authorisations), or -1 when it cannot be read. The TPM must
  /// not be held open by this process at that moment (swtpm serves one connection at a time).
  long lockout_counter();
  /// Flushes every transient object and session (tpm2_flushcontext -t / -s), as the kernel's
  /// resource manager does when a client closes; swtpm has room for only 3 loaded objects.
  bool flush_transient();
  /// Whether swtpm is running.
  bool running() const { return pid_ > 0; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
};

/// A tpm2-pkcs11 token on a Swtpm: empty TPM2_PKCS11_STORE, --init-token and --init-pin.
class Tpm2Pkcs11Token {
 public:
  /// Sets TPM2_PKCS11_TCTI and TPM2_PKCS11_STORE in this process and provisions token `label`.
  Tpm2Pkcs11Token(Swtpm& tpm, std::string label, std::string pin, std::string so_pin = "87654321");
  /// pkcs11: URI of object `object`, PIN from the pin file.
  std::string uri(const std::string& object = "") const;
  /// The module path, token label, pin and pin file.
  std::string module_path() const { return kTpm2Pkcs11Module; }
  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  std::filesystem::path pin_file() const { return dir_.path() / "pin"; }
  /// Environment a child process needs (TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE).
  std::map<std::string, std::string> env() const;
  /// Whether provisioning worked (the output of the failing step is in error()).
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  Swtpm& tpm_;
  TempDir dir_;
  std::string label_, pin_, so_pin_, error_;
};

/// Initialises a free token of `module` as `label` with the SO and user PINs in the two files
/// (tests/support/p11_init_token, whose path is $GRAFOS_P11_INIT_TOKEN under meson test).
/// Returns an empty string on success, else what went wrong.
std::string init_token_from_files(const std::string& module, const std::string& label,
                                  const std::filesystem::path& so_pin_file,
                                  const std::filesystem::path& user_pin_file,
                                  const std::map<std::string, std::string>& env);

/// Raw PKCS#11 access for assertions and for the token helpers: dlopens the module, C_Initialize
/// (tolerating CKR_CRYPTOKI_ALREADY_INITIALIZED, and finalizing only when it initialised), one
/// session per token.
class Pkcs11Probe {
 public:
  explicit Pkcs11Probe(const std::string& module);
  ~Pkcs11Probe();
  Pkcs11Probe(const Pkcs11Probe&) = delete;
  Pkcs11Probe& operator=(const Pkcs11Probe&) = delete;
  /// CK_TOKEN_INFO.flags of the token labelled `label`, or nullopt.
  std::optional<unsigned long> token_flags(const std::string& label);
  /// C_Login as user on token `label`; returns the CK_RV.
  unsigned long login(const std::string& label, const std::string& pin);
  /// Boolean attributes (CKA_*) of the objects of class `cls` labelled `object`: one map per
  /// object. Requires a prior login() for private objects.
  std::vector<std::map<unsigned long, bool>> bool_attributes(
      const std::string& label, const std::string& object, unsigned long cls,
      const std::vector<unsigned long>& types);
  /// Whether the module loaded.
  bool ok() const { return fl_ != nullptr; }
  /// The module's CK_FUNCTION_LIST (null when it did not load), for calls the probe lacks.
  CK_FUNCTION_LIST_PTR functions() const { return fl_; }
  /// The slot of the token labelled `label`, or nullopt.
  std::optional<unsigned long> slot_of(const std::string& label);
  /// The first slot whose token is not initialised, or nullopt.
  std::optional<unsigned long> free_slot();

 private:
  std::vector<unsigned long> slots_with_token();
  unsigned long session_for(const std::string& label);
  void* dl_ = nullptr;
  CK_FUNCTION_LIST_PTR fl_ = nullptr;
  bool initialised_ = false;
  std::map<std::string, unsigned long> sessions_;
};

}  // namespace grafos::test
