// p11_fault: a real PKCS#11 module for the fault tests. It forwards every call to another module
// (SoftHSMv2 in the tests) and, when told to, makes one of C_Login, C_FindObjects, C_SignInit or
// C_Sign fail with a chosen CKR_ code, or corrupts the signature C_Sign returns. This is the one
// mock in the fault tests, and only for faults a healthy token cannot be made to produce: the
// token, its keys and every other call are the real SoftHSMv2.
//
//   GRAFOS_P11_FAULT_TARGET  path of the module to forward to (required)
//   GRAFOS_P11_FAULT         FUNCTION:FAULT, e.g. C_Sign:CKR_DEVICE_ERROR or C_Sign:corrupt;
//                            unset or empty: forward everything unchanged
//   GRAFOS_P11_FAULT_SKIP    let this many calls of FUNCTION through before the fault (default 0)
//
// FUNCTION is C_Login, C_FindObjects, C_SignInit or C_Sign. FAULT is CKR_DEVICE_REMOVED,
// CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR, CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED, or
// `corrupt` (C_Sign only: the call succeeds and one byte of the signature is flipped). A fault,
// once armed, hits every later call of FUNCTION: a retry cannot get past it. An unknown setting
// makes C_GetFunctionList fail with CKR_ARGUMENTS_BAD, so a typo cannot pass as "no fault".
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include <p11-kit/pkcs11.h>

namespace {

enum class Target { none, login, find_objects, sign_init, sign };

struct Fault {
  Target target = Target::none;
  CK_RV rv = CKR_OK;  // CKR_OK with target sign: corrupt the signature
  long skip = 0;
};

CK_FUNCTION_LIST g_list{};
CK_FUNCTION_LIST_PTR g_real = nullptr;
Fault g_fault;
std::atomic<long> g_calls{0};
std::once_flag g_once;
CK_RV g_setup_rv = CKR_OK;

bool parse_rv(std::string_view name, CK_RV& rv) {
  static const struct {
    std::string_view name;
    CK_RV rv;
  } table[] = {
      {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
      {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
      {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
      {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
      {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
  };
  for (const auto& e : table) {
    if (e.name == name) {
      rv = e.rv;
      return true;
    }
  }
  return false;
}

bool parse_fault(const char* text, Fault& out) {
  if (text == nullptr || *text == '\0') return true;
  const std::string_view spec(text);
  const auto colon = spec.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view fn = spec.substr(0, colon);
  const std::string_view what = spec.substr(colon + 1);
  if (fn == "C_Login") {
    out.target = Target::login;
  } else if (fn == "C_FindObjects") {
    out.target = Target::find_objects;
  } else if (fn == "C_SignInit") {
    out.target = Target::sign_init;
  } else if (fn == "C_Sign") {
    out.target = Target::sign;
  } else {
    return false;
  }
  if (what == "corrupt") {
    if (out.target != Target::sign) return false;
    out.rv = CKR_OK;
  } else if (!parse_rv(what, out.rv)) {
    return false;
  }
  if (const char* skip = std::getenv("GRAFOS_P11_FAULT_SKIP"); skip != nullptr && *skip != '\0') {
    char* end = nullptr;
    out.skip = std::strtol(skip, &end, 10);
    if (*end != '\0' || out.skip < 0) return false;
  }
  return true;
}

// True when this call of `t` is to fail (or be corrupted).
bool armed(Target t) {
  if (g_fault.target != t) return false;
  return g_calls.fetch_add(1) >= g_fault.skip;
}

CK_RV fault_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  if (armed(Target::login)) return g_fault.rv;
  return g_real->C_Login(s, u, pin, len);
}

CK_RV fault_find_objects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR objs, CK_ULONG max,
                         CK_ULONG_PTR count) {
  if (armed(Target::find_objects)) return g_fault.rv;
  return g_real->C_FindObjects(s, objs, max, count);
}

CK_RV fault_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key) {
  if (armed(Target::sign_init)) return g_fault.rv;
  return g_real->C_SignInit(s, mech, key);
}

CK_RV fault_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
                 CK_ULONG_PTR sig_len) {
  // A length query (sig == NULL) is never the faulted call: the fault hits the real signature.
  if (sig == nullptr) return g_real->C_Sign(s, data, data_len, sig, sig_len);
  if (!armed(Target::sign)) return g_real->C_Sign(s, data, data_len, sig, sig_len);
  if (g_fault.rv != CKR_OK) return g_fault.rv;
  const CK_RV rv = g_real->C_Sign(s, data, data_len, sig, sig_len);
  if (rv == CKR_OK && *sig_len > 0) sig[*sig_len / 2] ^= 0x5a;
  return rv;
}

void setup() {
  if (!parse_fault(std::getenv("GRAFOS_P11_FAULT"), g_fault)) {
    g_setup_rv = CKR_ARGUMENTS_BAD;
    return;
  }
  const char* target = std::getenv("GRAFOS_P11_FAULT_TARGET");
  if (target == nullptr || *target == '\0') {
    g_setup_rv = CKR_ARGUMENTS_BAD;
    return;
  }
  void* lib = dlopen(target, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    g_setup_rv = CKR_GENERAL_ERROR;
    return;
  }
  auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(lib, "C_GetFunctionList"));
  if (get == nullptr || get(&g_real) != CKR_OK || g_real == nullptr) {
    g_setup_rv = CKR_GENERAL_ERROR;
    return;
  }
  g_list = *g_real;
  g_list.C_Login = fault_login;
  g_list.C_FindObjects = fault_find_objects;
  g_list.C_SignInit = fault_sign_init;
  g_list.C_Sign = fault_sign;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  std::call_once(g_once, setup);
  if (g_setup_rv != CKR_OK) return g_setup_rv;
  *list = &g_list;
  return CKR_OK;
}
