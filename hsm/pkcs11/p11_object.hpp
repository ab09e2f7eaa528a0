// Token objects: finding keys by CKA_LABEL / CKA_ID, generating an EC P-256 key pair (private half
// sensitive, non-extractable, sign-only), destroying objects, and opening a private key as a
// Signer (libp11 hands out an EVP_PKEY that OpenSSL 3 signs with: one C_SignInit + C_Sign per
// signature on a pooled session).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hsm/key_manager.hpp"
#include "hsm/pkcs11/p11_session.hpp"
#include "hsm/uri.hpp"
#include "util/bytes.hpp"

namespace grafos::hsm::p11 {

/// Handles of the objects whose attribute `type` equals `value`.
Result<std::vector<CK_OBJECT_HANDLE>> find_objects(Token& token, CK_ATTRIBUTE_TYPE type,
                                                   const void* value, size_t len,
                                                   const std::string& where);

/// Destroys `handles`; the first failure is returned, naming `what`.
Result<void> destroy_objects(Token& token, const std::vector<CK_OBJECT_HANDLE>& handles,
                             const std::string& what, const std::string& where);

/// Generates an EC P-256 key pair on the token with CKA_ID `id` and CKA_LABEL `label` (none when
/// empty); returns {public, private} handles.
Result<std::vector<CK_OBJECT_HANDLE>> generate_ec_p256(Token& token, const std::string& label,
                                                       const Bytes& id, const std::string& where);

/// Opens the one private key `u` names (object= and/or id=) as a Signer that keeps `token` alive.
/// Errc::token_missing when there is none.
Result<std::unique_ptr<Signer>> open_signer(const std::shared_ptr<Token>& token, const Pkcs11Uri& u,
                                            const std::string& where);

}  // namespace grafos::hsm::p11
