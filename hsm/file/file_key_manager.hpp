// File key backend: PEM private keys on disk, optionally passphrase-encrypted PKCS#8.
//
// Reference grammar: any path that is not a pkcs11: URI, a handle: or a TSS2 PEM.
//   Example: ca/ca-key.pem
// Passphrase (encrypted keys only): Interaction::passphrase_file, then the environment variable
// Interaction::passphrase_env (GRAFOS_KEY_PASSPHRASE), then a no-echo prompt on a TTY. New keys
// are encrypted (AES-256-CBC PKCS#8) when a passphrase file or variable is given, plain otherwise,
// and always written with mode 0600 at creation. An empty passphrase is refused (nothing is
// written), and a pkcs11: URI in any case is refused rather than taken as a path.
#pragma once

#include "hsm/key_manager.hpp"

namespace grafos::hsm {

/// Creates the file backend's KeyManager.
std::unique_ptr<KeyManager> make_file_key_manager(const Interaction& interaction);

/// Generates a fresh EC P-256 key in memory (leaf keys, tests).
Result<EvpPkeyPtr> generate_p256_key();

}  // namespace grafos::hsm
