// p11_init_token: initialises a free token of a PKCS#11 module with its SO and user PINs read
// from files. For scripts that cannot answer softhsm2-util's terminal prompts and must not put
// a PIN on a command line (softhsm2-util --so-pin/--pin would show it to every `ps`): the
// README's demo ceremony. People at a terminal can use softhsm2-util's own no-echo prompts.
//
//   p11_init_token MODULE LABEL SO_PIN_FILE USER_PIN_FILE
//
// It takes the first slot whose token is not initialised (softhsm2-util --init-token --free),
// C_InitToken with the SO PIN and LABEL, then, on the token's slot (SoftHSMv2 moves an
// initialised token to a new slot), logs in as SO and sets the user PIN with C_InitPIN.
// A PIN file holds the PIN and at most a trailing newline; an empty PIN is refused before any
// call. The PINs are wiped from memory after use. Exit status: 0 done, 1 a PKCS#11 call failed
// (named, with its CKR_ code), 2 bad arguments or PIN files.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

int fail(const std::string& what, CK_RV rv) {
  std::fprintf(stderr, "p11_init_token: %s failed: CKR 0x%lx\n", what.c_str(),
               static_cast<unsigned long>(rv));
  return 1;
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "p11_init_token: %s\nusage: p11_init_token MODULE LABEL SO_PIN_FILE USER_PIN_FILE\n",
               why.c_str());
  return 2;
}

/// A PIN from a file, wiped when it goes out of scope.
struct Pin {
  std::string value;
  ~Pin() { explicit_bzero(value.data(), value.size()); }
};

bool read_pin(const char* path, Pin& pin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  pin.value.assign(std::istreambuf_iterator<char>(in), {});
  if (!pin.value.empty() && pin.value.back() == '\n') pin.value.pop_back();
  if (!pin.value.empty() && pin.value.back() == '\r') pin.value.pop_back();
  return true;
}

std::string token_label(const CK_TOKEN_INFO& ti) {
  std::string s(reinterpret_cast<const char*>(ti.label), sizeof ti.label);
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

std::vector<CK_SLOT_ID> slots_with_token(CK_FUNCTION_LIST_PTR f) {
  CK_ULONG n = 0;
  if (f->C_GetSlotList(CK_TRUE, nullptr, &n) != CKR_OK) return {};
  std::vector<CK_SLOT_ID> slots(n);
  if (f->C_GetSlotList(CK_TRUE, slots.data(), &n) != CKR_OK) return {};
  slots.resize(n);
  return slots;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return usage("expected 4 arguments");
  const std::string label = argv[2];
  if (label.empty() || label.size() > 32) return usage("LABEL must be 1 to 32 characters");
  Pin so, user;
  if (!read_pin(argv[3], so))
    return usage(std::string("cannot read SO_PIN_FILE '") + argv[3] + "'");
  if (!read_pin(argv[4], user))
    return usage(std::string("cannot read USER_PIN_FILE '") + argv[4] + "'");
  if (so.value.empty() || user.value.empty()) return usage("a PIN file is empty");

  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) return usage(std::string("cannot load the module: ") + dlerror());
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(h, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR f = nullptr;
  if (!get_list || get_list(&f) != CKR_OK || !f)
    return usage("the module has no usable C_GetFunctionList");
  if (CK_RV rv = f->C_Initialize(nullptr); rv != CKR_OK) return fail("C_Initialize", rv);

  int status = 0;
  CK_SLOT_ID slot = 0;
  bool free_found = false;
  for (CK_SLOT_ID s : slots_with_token(f)) {
    CK_TOKEN_INFO ti;
    if (f->C_GetTokenInfo(s, &ti) == CKR_OK && !(ti.flags & CKF_TOKEN_INITIALIZED)) {
      slot = s;
      free_found = true;
      break;
    }
  }
  if (!free_found) {
    std::fprintf(stderr, "p11_init_token: the module has no free (uninitialised) token\n");
    status = 1;
  }
  if (status == 0) {
    CK_UTF8CHAR padded[32];
    std::memset(padded, ' ', sizeof padded);
    std::memcpy(padded, label.data(), label.size());
    if (CK_RV rv = f->C_InitToken(slot, reinterpret_cast<CK_UTF8CHAR_PTR>(so.value.data()),
                                  so.value.size(), padded);
        rv != CKR_OK)
      status = fail("C_InitToken", rv);
  }
  if (status == 0) {
    free_found = false;
    for (CK_SLOT_ID s : slots_with_token(f)) {
      CK_TOKEN_INFO ti;
      if (f->C_GetTokenInfo(s, &ti) == CKR_OK && (ti.flags & CKF_TOKEN_INITIALIZED) &&
          token_label(ti) == label) {
        slot = s;
        free_found = true;
      }
    }
    if (!free_found) {
      std::fprintf(stderr, "p11_init_token: the initialised token '%s' is not listed\n",
                   label.c_str());
      status = 1;
    }
  }
  if (status == 0) {
    CK_SESSION_HANDLE session;
    CK_RV rv =
        f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
    if (rv != CKR_OK) {
      status = fail("C_OpenSession", rv);
    } else {
      rv = f->C_Login(session, CKU_SO, reinterpret_cast<CK_UTF8CHAR_PTR>(so.value.data()),
                      so.value.size());
      if (rv != CKR_OK) {
        status = fail("C_Login (SO)", rv);
      } else {
        rv = f->C_InitPIN(session, reinterpret_cast<CK_UTF8CHAR_PTR>(user.value.data()),
                          user.value.size());
        if (rv != CKR_OK) status = fail("C_InitPIN", rv);
        f->C_Logout(session);
      }
      f->C_CloseSession(session);
    }
  }
  f->C_Finalize(nullptr);
  if (status == 0) std::printf("token '%s' initialised in slot %lu\n", label.c_str(), slot);
  return status;
}
