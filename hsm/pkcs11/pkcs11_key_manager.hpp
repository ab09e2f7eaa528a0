// PKCS#11 key backend: SoftHSMv2, hardware HSMs and TPMs through tpm2-pkcs11, one code path.
//
// Reference grammar: an RFC 7512 URI (see hsm/uri.hpp) naming a module, a token and a key.
//   pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//         &pin-source=file:/run/ca.pin
// The token is chosen by token=, serial=, slot-id= (and manufacturer=, model=); the key by
// object= (CKA_LABEL) and/or id= (CKA_ID).
//
// How it works (one file per concern, after Botan's prov/pkcs11):
// - p11_module: libp11 loads the module (dlopen + C_Initialize) once per process; the raw
//   CK_FUNCTION_LIST of that same module serves what libp11 0.4.12 lacks.
// - p11_session: the token the URI selects and one read-write session per manager.
// - p11_login: the login policy and PIN sources; the token-safety rules are listed there.
// - p11_object: key lookup and generation; libp11 hands out an EVP_PKEY that OpenSSL 3 signs with
//   (one C_SignInit + C_Sign per signature on a pooled session).
// - p11_error: return-code names and advice.
#pragma once

#include "hsm/key_manager.hpp"
#include "hsm/pkcs11/p11_error.hpp"  // ckr_name

namespace grafos::hsm {

/// Opens the PKCS#11 module named by `uri` (module-path=) and returns a KeyManager bound to the
/// token the URI selects. Keys named later (create_key / create_signer) must be on that token.
Result<std::unique_ptr<KeyManager>> make_pkcs11_key_manager(std::string_view uri,
                                                            const Interaction& interaction);

/// Opens the module, token and key `uri` names (parsed once) and returns its signer.
Result<std::unique_ptr<Signer>> open_pkcs11_signer(std::string_view uri,
                                                   const Interaction& interaction);

}  // namespace grafos::hsm
