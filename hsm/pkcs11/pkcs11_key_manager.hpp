// PKCS#11 key backend: SoftHSMv2, hardware HSMs and TPMs through tpm2-pkcs11, one code path.
//
// Reference grammar: an RFC 7512 URI (see hsm/uri.hpp) naming a module, a token and a key.
//   pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//         &pin-source=file:/run/ca.pin
// The token is chosen by token=, serial=, slot-id= (and manufacturer=, model=); the key by
// object= (CKA_LABEL) and/or id= (CKA_ID).
//
// How it works:
// - libp11 loads the module (PKCS11_CTX_load: dlopen + C_Initialize), enumerates slots, finds the
//   token and the key, and hands out an EVP_PKEY that OpenSSL 3 signs with (one C_SignInit +
//   C_Sign per signature on a pooled session; nothing else per signature).
// - Operations libp11 0.4.12 lacks (C_GetTokenInfo flags, C_Login with the return code, EC key
//   generation, object destruction) use the module's own CK_FUNCTION_LIST: we dlopen the same file
//   with RTLD_NOLOAD after libp11 loaded it (so it is the very same, already initialised module;
//   we never call C_Initialize or C_Finalize ourselves) and call C_GetFunctionList.
// - A module is loaded once per process and shared by every manager (libp11 calls C_Finalize when
//   it unloads, which would end other managers' sessions).
// - Each manager keeps one read-write session open and logs in at most once: before logging in it
//   refuses a token reporting CKF_USER_PIN_FINAL_TRY or CKF_USER_PIN_LOCKED, and a rejected PIN
//   is remembered and never retried. Login state is per application (PKCS#11 section 5.6), so the
//   libp11 sessions used for signing share it.
// PIN sources, first match wins: pin-source=file: in the URI; pin-value= (Interaction::warn is
// called); the environment variable Interaction::pin_env (GRAFOS_PKCS11_PIN); a no-echo prompt
// (Interaction::prompt_secret); otherwise an error. An empty PIN (empty file or variable, Ctrl-D at
// the prompt) is refused before C_Login, naming its source. The PIN is wiped after C_Login; the
// environment variable is removed from the environment once read (util/secret.hpp).
#pragma once

#include "hsm/key_manager.hpp"

namespace grafos::hsm {

/// Opens the PKCS#11 module named by `uri` (module-path=) and returns a KeyManager bound to the
/// token the URI selects. Keys named later (create_key / create_signer) must be on that token.
Result<std::unique_ptr<KeyManager>> make_pkcs11_key_manager(std::string_view uri,
                                                            const Interaction& interaction);

/// Opens the module, token and key `uri` names (parsed once) and returns its signer.
Result<std::unique_ptr<Signer>> open_pkcs11_signer(std::string_view uri,
                                                   const Interaction& interaction);

/// The PKCS#11 name of a return code ("CKR_PIN_INCORRECT"); "CKR_0x..." for unknown codes.
std::string ckr_name(unsigned long rv);

}  // namespace grafos::hsm
