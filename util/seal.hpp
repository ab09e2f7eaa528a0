// Sealing a secret at rest (a federated peer's private key in the registry's database): AES-256-GCM
// under a key derived with HKDF-SHA256 from a seal secret (GRAFOS_SEAL_SECRET or a seal secret
// file), a fresh random salt and nonce per sealing, and caller-chosen associated data (the peer
// id), so a row moved to another peer does not open.
//
// Sealed blob, version 1, base64 (standard alphabet, padded) of:
//   0x01 | salt (16 bytes) | nonce (12 bytes) | ciphertext (plaintext length) | tag (16 bytes)
// HKDF: IKM = the seal secret, salt = the blob's salt, info = "grafos seal v1", 32 bytes out.
// The version byte and the salt are authenticated too (they are part of the AAD given to GCM, after
// the caller's AAD), so no header byte can be changed without the tag failing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::seal {

/// Environment variable holding the seal secret.
inline constexpr const char* kSealSecretEnv = "GRAFOS_SEAL_SECRET";
/// Shortest accepted seal secret, in bytes.
inline constexpr std::size_t kMinSecretBytes = 16;
/// The one blob version this build writes and reads.
inline constexpr unsigned char kVersion = 1;
/// HKDF info string of version 1.
inline constexpr std::string_view kHkdfInfo = "grafos seal v1";

/// Seals `plaintext` under `secret` with associated data `aad`; returns the base64 blob above.
/// Errc::invalid_input for an empty or short (< kMinSecretBytes) secret; Errc::crypto when OpenSSL
/// fails.
Result<std::string> seal(std::string_view secret, std::string_view aad, std::string_view plaintext);

/// Opens a blob made by seal(). A wrong secret, a wrong AAD, any changed byte, a truncated blob or
/// an unknown version is Errc::seal_open_failed with a clear message; no partial plaintext is ever
/// returned. A short secret is Errc::invalid_input as in seal().
Result<SecretString> open_sealed(std::string_view secret, std::string_view aad,
                                 std::string_view sealed);

/// Reads the seal secret: from `secret_file` when it is not empty (the file must be a regular file
/// not readable or writable by group or others, i.e. mode 0600 or 0400: Errc::invalid_input naming
/// the mode otherwise), else from the environment variable kSealSecretEnv (Errc::secret_missing
/// when unset; the variable is then removed from the environment, see read_secret_env). An empty or
/// short secret is Errc::invalid_input. Messages never contain the secret.
Result<SecretString> read_seal_secret(const std::string& secret_file);

}  // namespace grafos::seal
