// What p11_init_token and p11_import_key share: usage/failure exits, the PIN files
// (util/secret.hpp's read_secret_file) and CKR_ names (hsm's ckr_name).
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <string>

#include "hsm/pkcs11/pkcs11_key_manager.hpp"
#include "util/secret.hpp"

namespace grafos::test::p11_tool {

/// Exit status 2 with `why` and the usage line.
inline int usage(const char* tool, const std::string& why, const char* synopsis) {
  std::fprintf(stderr, "%s: %s\nusage: %s %s\n", tool, why.c_str(), tool, synopsis);
  return 2;
}

/// Exit status 1: the PKCS#11 call `what` returned `rv`.
inline int fail(const char* tool, const std::string& what, CK_RV rv) {
  std::fprintf(stderr, "%s: %s failed: %s\n", tool, what.c_str(), hsm::ckr_name(rv).c_str());
  return 1;
}

/// A PKCS#11 call's view of a PIN.
inline CK_UTF8CHAR_PTR utf8(const SecretString& pin) {
  return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.c_str()));
}

}  // namespace grafos::test::p11_tool
