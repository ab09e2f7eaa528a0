// One way in: every key flag (--ca-key, --sign-key, --key, --cell-key) opens its key here, and
// no code outside hsm/ classifies or opens a key reference.
//
// load_key takes a key reference in any form (hsm/key_manager.hpp: a PEM file, a pkcs11: URI, a
// TSS2 PEM or handle:), opens the backend it names, checks the key's public half against the
// certificate it must match (when one is given), and returns one signer that serves X.509
// issuance, DSSE signing and TLS (SSL_CTX_use_PrivateKey) alike.
//
// Errors keep the backends' codes: a missing key file is Errc::file_missing, a missing token or
// token object Errc::token_missing, a rejected PIN Errc::pin, and a key that does not match its
// certificate Errc::key_backend. Messages name the redacted reference, never a CLI flag: the tool
// adds that context ("--ca-key: ...").
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "hsm/key_manager.hpp"

namespace grafos::hsm {

/// What to load.
struct LoadKeyRequest {
  std::string ref;               ///< the key reference, in any form
  X509* certificate = nullptr;   ///< when set, the key must be this certificate's key
  std::string certificate_name;  ///< how messages name it; empty: "the certificate"
  Interaction interaction;       ///< PIN / passphrase sources and warnings
  /// Instead of `certificate`: a PEM file whose first certificate the key must match (read
  /// before the key is opened; missing: Errc::file_missing; no certificate: Errc::invalid_input).
  /// Messages name it "the certificate '<path>'" unless `certificate_name` says otherwise.
  std::string certificate_path;
};

/// A loaded key. `private_key` lives in the signer's session or provider: destroy it first (the
/// member order does), and keep the signer alive as long as a TLS context uses it.
struct LoadedKey {
  std::unique_ptr<Signer> signer;  ///< signs certificates, CSRs and DSSE envelopes
  EvpPkeyPtr private_key;          ///< the same key for SSL_CTX_use_PrivateKey
  Backend backend = Backend::file;
  std::string description;  ///< the reference, redacted (safe for messages and logs)
};

/// Opens the key `req.ref` names and, when `req.certificate` is set, checks it matches.
Result<LoadedKey> load_key(const LoadKeyRequest& req);

/// The PKCS#11 module a pkcs11: key reference names: its C_GetInfo manufacturerID and
/// libraryDescription (blank padding removed), e.g. "SoftHSM" / "Implementation of PKCS11", so
/// that a caller can tell a software token from a hardware one. Loads the module if this process
/// has not yet (no token is opened). Both empty for another kind of reference, or when the module
/// cannot be loaded.
struct ModuleInfo {
  std::string manufacturer;
  std::string description;
};
ModuleInfo pkcs11_module_info(std::string_view ref);

}  // namespace grafos::hsm
