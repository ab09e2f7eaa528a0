// What the three executables share: the seed's global flags, the exit-status table, one-line
// error reporting, and the Interaction (secret prompts, warnings) handed to the libraries.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "hsm/key_manager.hpp"
#include "util/result.hpp"

namespace grafos::tools {

/// The seed's global flags, accepted by every subcommand.
struct GlobalOptions {
  std::string fabric;  ///< --fabric / GRAFOS_FABRIC (host:port); informational for offline tools
  bool json = false;   ///< --json: machine-readable output on stdout
  bool wide = false;   ///< --wide: more table columns
  bool no_color = false;
  std::string pool = "default";
  /// The global flags a command accepts (the seed's) but that do nothing there: hidden from its
  /// --help, and a note on stderr when one is given (run_app).
  std::vector<const CLI::Option*> without_effect;
};

/// Which of the seed's global flags do something in a command (add_global_options shows only
/// those in its --help).
enum GlobalFlag : unsigned {
  kFlagJson = 1u << 0,
  kFlagWide = 1u << 1,
  kFlagNoColor = 1u << 2,
  kFlagFabric = 1u << 3,
  kFlagPool = 1u << 4,
  kAllGlobalFlags = kFlagJson | kFlagWide | kFlagNoColor | kFlagFabric | kFlagPool,
};

/// Documented exit statuses (see the man pages, EXIT STATUS).
enum ExitStatus : int {
  kExitOk = 0,
  kExitMismatch = 1,       ///< verification failed: a binary, signature or chain does not match
  kExitUsage = 2,          ///< bad flags or arguments
  kExitInvalidInput = 3,   ///< input refused: identity/SAN grammar, malformed file, CSR policy
  kExitExists = 4,         ///< an output exists and --force was not given
  kExitKey = 5,            ///< key backend: module, token, PIN, passphrase, key/cert mismatch
  kExitIo = 6,             ///< file not found or unreadable/unwritable
  kExitCrypto = 7,         ///< an OpenSSL operation failed
  kExitPolicy = 8,         ///< the profile linter refused the certificate before signing
  kExitNetwork = 10,       ///< connection refused, timeout, DNS
  kExitTls = 11,           ///< TLS handshake or server verification failed
  kExitUnauthorized = 12,  ///< HTTP 401
  kExitForbidden = 13,     ///< HTTP 403
  kExitConflict = 14,      ///< HTTP 409
  kExitNotFound = 15,      ///< HTTP 404
  kExitInternal = 70,      ///< a bug
};

/// Maps an error code to its exit status.
int exit_status_for(Errc code);

/// Shared state of one tool invocation.
struct Context {
  std::string tool;  ///< "grafos-ca", used as the prefix of error lines
  GlobalOptions global;
  int exit_code = 0;
  /// Set by a command whose --json output already reports its own errors (image-provenance
  /// verify): fail() then adds no second JSON object to stdout.
  bool own_json_errors = false;

  /// Prints "<tool>: error: <message>" to stderr and records the exit status; under --json also
  /// {"error":"<code>","message":"<text>"} on stdout.
  void fail(const Error& e);
  /// Prints "<tool>: note: <message>" to stderr.
  void note(std::string_view message) const;
  /// Secret prompts on the TTY (when there is one) and warnings on stderr.
  hsm::Interaction interaction() const;
  /// True when colour may be used on stdout (TTY, no --no-color, no NO_COLOR).
  bool color_stdout() const;
};

/// CLI11 check that a value is not empty: an empty --ca or --sign-key must be a usage error,
/// never the same as leaving the flag out (a deploy script's unset variable would otherwise turn
/// off signature checking).
const CLI::Validator& non_empty();

/// Adds the seed's global flags (--fabric, --json, --wide, --no-color, --pool) to `app`. Those
/// not in `meaningful` are still accepted (scripts written from the seed keep working) but are
/// hidden from `app`'s --help, and giving one prints a note that it has no effect there.
void add_global_options(CLI::App& app, GlobalOptions& global,
                        unsigned meaningful = kAllGlobalFlags);

/// Parses argv and runs the chosen subcommand; returns the process exit status. CLI11 parse
/// errors print usage and return kExitUsage; --help and --version return 0.
int run_app(CLI::App& app, Context& ctx, int argc, char** argv);

/// Renders `text` in a fixed-width column table. `rows[0]` is the header.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace grafos::tools
