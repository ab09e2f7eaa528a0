#include "hsm/pkcs11/p11_error.hpp"

#include <openssl/err.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstring>
#include <optional>

namespace grafos::hsm {

std::string ckr_name(unsigned long rv) {
  switch (rv) {
#define GRAFOS_CKR(x) \
  case x:             \
    return #x;
    GRAFOS_CKR(CKR_OK)
    GRAFOS_CKR(CKR_CANCEL)
    GRAFOS_CKR(CKR_HOST_MEMORY)
    GRAFOS_CKR(CKR_SLOT_ID_INVALID)
    GRAFOS_CKR(CKR_GENERAL_ERROR)
    GRAFOS_CKR(CKR_FUNCTION_FAILED)
    GRAFOS_CKR(CKR_ARGUMENTS_BAD)
    GRAFOS_CKR(CKR_ATTRIBUTE_READ_ONLY)
    GRAFOS_CKR(CKR_ATTRIBUTE_SENSITIVE)
    GRAFOS_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
    GRAFOS_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
    GRAFOS_CKR(CKR_DATA_INVALID)
    GRAFOS_CKR(CKR_DATA_LEN_RANGE)
    GRAFOS_CKR(CKR_DEVICE_ERROR)
    GRAFOS_CKR(CKR_DEVICE_MEMORY)
    GRAFOS_CKR(CKR_DEVICE_REMOVED)
    GRAFOS_CKR(CKR_FUNCTION_CANCELED)
    GRAFOS_CKR(CKR_FUNCTION_NOT_SUPPORTED)
    GRAFOS_CKR(CKR_KEY_HANDLE_INVALID)
    GRAFOS_CKR(CKR_KEY_TYPE_INCONSISTENT)
    GRAFOS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
    GRAFOS_CKR(CKR_MECHANISM_INVALID)
    GRAFOS_CKR(CKR_MECHANISM_PARAM_INVALID)
    GRAFOS_CKR(CKR_OBJECT_HANDLE_INVALID)
    GRAFOS_CKR(CKR_OPERATION_ACTIVE)
    GRAFOS_CKR(CKR_OPERATION_NOT_INITIALIZED)
    GRAFOS_CKR(CKR_PIN_INCORRECT)
    GRAFOS_CKR(CKR_PIN_INVALID)
    GRAFOS_CKR(CKR_PIN_LEN_RANGE)
    GRAFOS_CKR(CKR_PIN_EXPIRED)
    GRAFOS_CKR(CKR_PIN_LOCKED)
    GRAFOS_CKR(CKR_SESSION_CLOSED)
    GRAFOS_CKR(CKR_SESSION_COUNT)
    GRAFOS_CKR(CKR_SESSION_HANDLE_INVALID)
    GRAFOS_CKR(CKR_SESSION_READ_ONLY)
    GRAFOS_CKR(CKR_SESSION_EXISTS)
    GRAFOS_CKR(CKR_SESSION_READ_ONLY_EXISTS)
    GRAFOS_CKR(CKR_SIGNATURE_INVALID)
    GRAFOS_CKR(CKR_SIGNATURE_LEN_RANGE)
    GRAFOS_CKR(CKR_TEMPLATE_INCOMPLETE)
    GRAFOS_CKR(CKR_TEMPLATE_INCONSISTENT)
    GRAFOS_CKR(CKR_TOKEN_NOT_PRESENT)
    GRAFOS_CKR(CKR_TOKEN_NOT_RECOGNIZED)
    GRAFOS_CKR(CKR_TOKEN_WRITE_PROTECTED)
    GRAFOS_CKR(CKR_USER_ALREADY_LOGGED_IN)
    GRAFOS_CKR(CKR_USER_NOT_LOGGED_IN)
    GRAFOS_CKR(CKR_USER_PIN_NOT_INITIALIZED)
    GRAFOS_CKR(CKR_USER_TYPE_INVALID)
    GRAFOS_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    GRAFOS_CKR(CKR_USER_TOO_MANY_TYPES)
    GRAFOS_CKR(CKR_DOMAIN_PARAMS_INVALID)
    GRAFOS_CKR(CKR_CURVE_NOT_SUPPORTED)
    GRAFOS_CKR(CKR_BUFFER_TOO_SMALL)
    GRAFOS_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
    GRAFOS_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    GRAFOS_CKR(CKR_FUNCTION_REJECTED)
#undef GRAFOS_CKR
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR_0x%08lx", rv);
  return buf;
}

std::string ckr_advice(unsigned long rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
      return "check the PIN source (pin-source=file:, GRAFOS_PKCS11_PIN); the PIN was not retried";
    case CKR_PIN_LOCKED:
      return "the user PIN is locked: unlock it with the SO PIN "
             "(pkcs11-tool --init-pin --login --login-type so) "
             "or wait for the TPM lockout to expire";
    case CKR_PIN_EXPIRED:
      return "change the user PIN first (pkcs11-tool --change-pin)";
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
      return "insert or reconnect the token";
    case CKR_USER_PIN_NOT_INITIALIZED:
      return "initialise the user PIN (pkcs11-tool --init-pin)";
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_SESSION_READ_ONLY:
      return "the token is read-only";
    case CKR_DEVICE_MEMORY:
      return "the token is full: remove unused objects";
    default:
      return "check the token and the module's own log";
  }
}

Error ck_error(unsigned long rv, std::string_view what, std::string_view where) {
  Errc code = Errc::key_backend;
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
      rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
    code = Errc::pin;
  return Error{code, std::string(where) + ": " + std::string(what) + " failed: " + ckr_name(rv) +
                         " (" + ckr_advice(rv) + ")"};
}

Error p11_call_error(Errc code, std::string_view what, std::string_view where) {
  // libp11 registers its own OpenSSL error library for the codes PKCS#11 modules return, and
  // uses the CKR_ value as the reason code.
  std::string detail;
  std::optional<unsigned long> rv;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    const char* lib = ERR_lib_error_string(e);
    if (!rv && lib != nullptr && std::strcmp(lib, "PKCS#11 module") == 0) rv = ERR_GET_REASON(e);
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += (detail.empty() ? "" : "; ") + std::string(buf);
  }
  if (rv) return ck_error(*rv, what, where);
  std::string msg = std::string(where) + ": " + std::string(what);
  if (!detail.empty()) msg += " (" + detail + ")";
  return Error{code, std::move(msg)};
}

}  // namespace grafos::hsm
