// Signed checkpoints of the CA transcript: the C2SP tlog-checkpoint body (origin, tree size, root
// hash) in a C2SP signed note, signed by the CA key through the hsm::Signer like everything the CA
// signs. Signature type 0x02 (ECDSA, as transparency-dev/witness): the key ID is the first four
// bytes of SHA-256 over the DER SubjectPublicKeyInfo, the signature is DER ECDSA-SHA256 over the
// note text.
//
//   fabric-ca.grafos/transcript/3f1c0a9e5d7b2c44
//   12
//   2VNtW7xkWl0EKvW6fUgOqz0KB3y9s+6nG2kdW1mTq0c=
//
//   — fabric-ca.grafos/transcript/3f1c0a9e5d7b2c44 q2x0AEUCIQ...
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "hsm/key_manager.hpp"
#include "pki/merkle.hpp"
#include "util/result.hpp"

namespace grafos::pki {

/// What a checkpoint commits to.
struct Checkpoint {
  std::string origin;  ///< the log's name, also the note's key name
  std::uint64_t size = 0;
  merkle::Hash root{};
};

/// The tlog-checkpoint body: "<origin>\n<size>\n<base64 root>\n".
std::string checkpoint_body(const Checkpoint& c);

/// Parses a checkpoint body (exactly three lines; no extension lines). Errc::invalid_input names
/// the line that is wrong.
Result<Checkpoint> parse_checkpoint_body(std::string_view body);

/// SHA-256 of the DER SubjectPublicKeyInfo of `pub` (the ledger's key fingerprint, and the note
/// key ID's source).
Result<merkle::Hash> public_key_sha256(EVP_PKEY* pub);

/// SHA-256(DER SubjectPublicKeyInfo of `pub`)[:4], big-endian: the note key ID (type 0x02).
Result<std::uint32_t> note_key_id(EVP_PKEY* pub);

/// The signed note of `text` (which must end in a newline) by `signer`, named `key_name`.
Result<std::string> sign_note(std::string_view text, std::string_view key_name,
                              hsm::Signer& signer);

/// Checks a signed note: the signature line of `key_name` with the key ID of `pub` must be there
/// and verify (Errc::mismatch otherwise; lines of other keys are ignored, as the spec says).
/// Returns the note text.
Result<std::string> open_note(std::string_view note, std::string_view key_name, EVP_PKEY* pub);

}  // namespace grafos::pki
