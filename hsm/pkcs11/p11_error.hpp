// PKCS#11 return codes: their names and what the user should do next. Every failed PKCS#11 call
// becomes an Error through ck_error, so a reader finds the wording for a code in one place.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace grafos::hsm {

/// The PKCS#11 name of a return code ("CKR_PIN_INCORRECT"); "CKR_0x..." for unknown codes.
std::string ckr_name(unsigned long rv);

/// What to do next after return code `rv`, for the user reading the error.
std::string ckr_advice(unsigned long rv);

/// "<where>: <what> failed: CKR_... (advice)"; Errc::pin for the PIN codes, Errc::key_backend
/// otherwise.
Error ck_error(unsigned long rv, std::string_view what, std::string_view where);
/// For a libp11 call that failed: when OpenSSL's error queue holds the PKCS#11 return code
/// libp11 put there (its "PKCS#11 module" library, the CKR_ value as the reason), the error is
/// ck_error(rv, what, where), naming the code; otherwise ossl_error(code, where + ": " + what).
/// The queue is drained either way.
Error p11_call_error(Errc code, std::string_view what, std::string_view where);

}  // namespace grafos::hsm
