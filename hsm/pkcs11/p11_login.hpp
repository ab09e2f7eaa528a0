// The login policy: the token-safety rules, in one file a reviewer can audit.
//
// - The token's flags are read (C_GetTokenInfo) before EVERY login decision; nothing is cached.
// - A token reporting CKF_USER_PIN_LOCKED or CKF_USER_PIN_FINAL_TRY is refused without logging
//   in: a wrong PIN on the final try would lock the token.
// - A rejected PIN is remembered for the token and never retried.
// - Each token is logged in to at most once; login state is per application (PKCS#11 section
//   5.6), so a session another manager of this process logged in is taken as logged in.
// - PIN sources, first match wins: pin-source=file: in the URI; pin-value= in the URI (a warning
//   says other users can read it); the environment variable Interaction::pin_env
//   (GRAFOS_PKCS11_PIN; removed from the environment once read); a no-echo prompt
//   (Interaction::prompt_secret); otherwise an error naming the sources.
// - An empty PIN (empty file or variable, Ctrl-D at the prompt) is refused before C_Login, naming
//   its source: logging in with it would use up a PIN try.
// - The PIN is wiped after C_Login and never appears in a message (only its source does).
#pragma once

#include <string>

#include "hsm/key_manager.hpp"
#include "hsm/pkcs11/p11_session.hpp"
#include "hsm/uri.hpp"

namespace grafos::hsm::p11 {

/// Logs in to `token` as the user with the PIN `uri`'s sources give, under the rules above.
/// `where` (the redacted URI) prefixes errors.
Result<void> login(Token& token, const Pkcs11Uri& uri, const Interaction& in,
                   const std::string& where);

}  // namespace grafos::hsm::p11
