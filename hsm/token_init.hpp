// Initialising a PKCS#11 token to hold a CA key: C_InitToken on the first slot whose token is not
// initialised (SO PIN and label), then C_Login as SO and C_InitPIN (user PIN) on the token's slot.
// SoftHSMv2 and tpm2-pkcs11 offer such a free slot; a hardware HSM is usually initialised with
// its vendor's tools. PINs come from the caller (read from 0600 files or a no-echo prompt by the
// tool), never from argv, and are wiped with their SecretString.
//
//   init_pkcs11_token({.module = "/usr/lib/softhsm/libsofthsm2.so", .label = "fabric-ca", ...})
//   -> the key reference for init-ca:
//      pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//            &pin-source=file:/root/ca/user.pin
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::hsm {

/// What init_pkcs11_token does.
struct TokenInitRequest {
  std::string module;   ///< PKCS#11 module path
  std::string label;    ///< token label, 1 to 32 bytes
  SecretString so_pin;  ///< Security Officer PIN (C_InitToken, then C_Login as SO)
  SecretString pin;     ///< user PIN (C_InitPIN), the one signing logs in with
};

/// What init_pkcs11_token did.
struct TokenInitResult {
  unsigned long slot = 0;    ///< its slot in this process (SoftHSMv2 renumbers slots per process)
  std::string serial;        ///< the token's serial number (CK_TOKEN_INFO)
  std::string manufacturer;  ///< the module's manufacturer (C_GetInfo), e.g. "SoftHSM"
  bool softhsm = false;      ///< SoftHSMv2: its file store is not crash-safe (keep a backup)
};

/// Initialises a free token of `req.module` as `req.label` with the two PINs. Refuses, before any
/// change: a label that is empty or longer than 32 bytes, or an empty PIN (Errc::usage); a token
/// already labelled `req.label` (Errc::exists); a module without a free token slot
/// (Errc::token_missing). A failed PKCS#11 call is Errc::key_backend or Errc::pin, named with
/// its CKR_ code.
Result<TokenInitResult> init_pkcs11_token(const TokenInitRequest& req);

/// Reads a PIN from a file that only its owner can read: a regular file whose mode grants
/// nothing to group or others (0600 or 0400), else Errc::invalid_input naming the file and its
/// mode. First line, line end removed; an empty PIN is Errc::invalid_input.
Result<SecretString> read_private_pin_file(const std::string& path);

/// The RFC 7512 key reference of object `object` on token `label` of `module`, with
/// pin-source=file:`pin_file` when `pin_file` is not empty (made absolute); reserved characters
/// percent-encoded.
std::string pkcs11_key_uri(std::string_view module, std::string_view label, std::string_view object,
                           std::string_view pin_file);

}  // namespace grafos::hsm
