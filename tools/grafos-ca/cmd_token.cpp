// grafos-ca token init: a PKCS#11 token (SoftHSMv2, tpm2-pkcs11) made ready for a CA key, its PINs
// read from 0600 files or a no-echo TTY prompt, never from argv.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <iostream>

#include "hsm/token_init.hpp"
#include "tools/grafos-ca/commands.hpp"

namespace grafos::tools::ca {

namespace {

struct TokenInitOptions {
  std::string module;
  std::string label;
  std::string so_pin_file;
  std::string pin_file;
  std::string object = "ca-key";
};

// A PIN from its file (--so-pin-file / --pin-file), or typed twice at the terminal.
Result<SecretString> read_pin(const std::string& file, const char* flag, const std::string& what) {
  if (!file.empty()) {
    auto r = hsm::read_private_pin_file(file);
    if (!r) return std::move(r).error().context(flag);
    return r;
  }
  if (!::isatty(STDIN_FILENO))
    return Error{Errc::usage, std::string("no terminal to prompt for the ") + what +
                                  "; give it in a 0600 file with " + flag + " FILE"};
  auto first = prompt_secret("New " + what + ": ");
  if (!first) return first.error();
  auto again = prompt_secret("New " + what + " again: ");
  if (!again) return again.error();
  if (first->view() != again->view())
    return Error{Errc::usage, "the two " + what + " entries differ; nothing was changed"};
  if (first->empty()) return Error{Errc::usage, "an empty " + what + " is refused"};
  return first;
}

}  // namespace

void add_token(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "token", "Prepare a PKCS#11 token (SoftHSMv2, tpm2-pkcs11) to hold a CA key.");
  group->require_subcommand(1);
  auto* sub = group->add_subcommand(
      "init",
      "Initialise a free token slot of a PKCS#11 module and print the CA key reference.\n"
      "C_InitToken with the SO PIN and --label on the module's first uninitialised token, then "
      "C_InitPIN with the user PIN. The PINs are read from 0600 files or typed at the terminal "
      "(no echo, twice), never taken from the command line. Prints the pkcs11: URI to pass to "
      "init-ca --key and then to --ca-key (with pin-source=file: when --pin-file is given). "
      "SoftHSMv2 rewrites its token.object file at every login: keep a backup of its token "
      "folder; use a hardware HSM or a TPM for a production CA.\n"
      "Example: grafos-ca token init --module /usr/lib/softhsm/libsofthsm2.so --label fabric-ca "
      "--so-pin-file hsm/so.pin --pin-file hsm/user.pin");
  auto o = std::make_shared<TokenInitOptions>();
  sub->add_option("--module", o->module, "PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so)")
      ->required();
  sub->add_option("--label", o->label, "Label of the new token (1-32 bytes), the URI's token=")
      ->required()
      ->check(non_empty());
  sub->add_option("--so-pin-file", o->so_pin_file,
                  "File (mode 0600) holding the Security Officer PIN (default: prompt)");
  sub->add_option("--pin-file", o->pin_file,
                  "File (mode 0600) holding the user PIN (default: prompt); named in the URI");
  sub->add_option("--object", o->object, "Key label to name in the printed URI")
      ->capture_default_str()
      ->check(non_empty());
  sub->add_flag("--json", ctx.global.json, "Output in JSON format for scripting");
  sub->footer(
      "Exit status: 0 ok; 2 bad flags or arguments, or no terminal to prompt for a PIN; 3 a PIN "
      "file that others may read, or an empty PIN; 4 a token with that label exists; 5 the "
      "module or a PKCS#11 call failed (named with its CKR_ code), or no free token slot; 6 a "
      "PIN file is missing or unreadable; 70 a bug.");
  sub->callback([&ctx, o] {
    // Both PIN files are checked before the module is touched.
    auto so = read_pin(o->so_pin_file, "--so-pin-file", "SO PIN");
    if (!so) return ctx.fail(so.error().context("token init"));
    auto pin = read_pin(o->pin_file, "--pin-file", "user PIN");
    if (!pin) return ctx.fail(pin.error().context("token init"));
    hsm::TokenInitRequest req{o->module, o->label, std::move(*so), std::move(*pin)};
    auto r = hsm::init_pkcs11_token(req);
    if (!r) return ctx.fail(r.error().context("token init"));
    const std::string uri = hsm::pkcs11_key_uri(o->module, o->label, o->object, o->pin_file);
    ctx.note("token '" + o->label + "' initialised (serial " + r->serial +
             "); create the CA key with: grafos-ca init-ca --out ca --key '" + uri + "'");
    if (o->pin_file.empty())
      ctx.note(
          "the URI names no PIN file: grafos-ca reads the PIN from GRAFOS_PKCS11_PIN or "
          "asks at the terminal");
    if (r->softhsm)
      std::cerr << ctx.tool
                << ": warning: SoftHSMv2 rewrites token.object at every login; a process killed "
                   "then loses the token and its keys. Back up the token folder "
                   "(directories.tokendir in SOFTHSM2_CONF) after creating the key, and use a "
                   "hardware HSM or a TPM for a production CA\n";
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"token", o->label},     {"serial", r->serial},
                                  {"module", o->module},   {"manufacturer", r->manufacturer},
                                  {"softhsm", r->softhsm}, {"key_uri", uri}}
                       .dump()
                << '\n';
      return;
    }
    std::cout << uri << '\n';
  });
}

}  // namespace grafos::tools::ca
