// softhsm_floor: what a PKCS#11 module costs one process, with no grafos code in it.
//
// A diagnostic for bench/ca.sh: it does, with the module's own function list, only the PKCS#11
// work one `grafos-ca issue-cert --ca-key pkcs11:...` run cannot do without: load the module the
// way libp11 does (dlopen RTLD_LAZY), C_Initialize, find the slot of the token, open a session,
// C_Login, find the private key by label, sign one digest, close, C_Finalize. libcrypto is
// initialised first as in grafos-ca (the module shares it), with the DRBG and SHA-256 that
// grafos-ca has set up before it opens a key. It is linked as grafos-ca is (the C++
// runtime static, by default), so the module's dlopen loads libstdc++.so as it does in grafos-ca;
// a dynamically linked copy of this program would hide that cost in both of its runs. With --noop
// it stops after that initialisation, so that the difference of the two runs is the module's
// share of a process.
//
// Usage: softhsm_floor MODULE TOKEN_LABEL KEY_LABEL PIN_FILE
//        softhsm_floor --noop
// Exit status 0 when every call returned CKR_OK, 1 otherwise (the failing call is named), 2 for
// bad arguments or an unreadable or empty PIN file (refused before any login).
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace {

int fail(const char* what, CK_RV rv) {
  std::fprintf(stderr, "softhsm_floor: %s failed: 0x%lx\n", what, static_cast<unsigned long>(rv));
  return 1;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_CONFIG, nullptr);
  // What grafos-ca has set up before it opens the CA key, with or without a module: the DRBG
  // (serial numbers) and the SHA-256 digest (the CSR's signature). Done in both runs, so that the
  // module is not charged for OpenSSL's first use of them, which it would otherwise pay here.
  unsigned char byte;
  if (RAND_bytes(&byte, 1) != 1) return fail("RAND_bytes", CKR_GENERAL_ERROR);
  EVP_MD_free(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (argc == 2 && std::string_view(argv[1]) == "--noop") return 0;
  if (argc != 5) {
    std::fprintf(stderr, "usage: softhsm_floor MODULE TOKEN_LABEL KEY_LABEL PIN_FILE | --noop\n");
    return 2;
  }
  const std::string token = argv[2], key = argv[3];
  std::ifstream pin_in(argv[4]);
  std::string pin = trimmed(std::string(std::istreambuf_iterator<char>(pin_in), {}));
  if (!pin_in || pin.empty()) {  // never log in with an empty PIN: it would use up a PIN try
    std::fprintf(stderr, "softhsm_floor: cannot read a PIN from '%s'\n", argv[4]);
    return 2;
  }

  void* h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    std::fprintf(stderr, "softhsm_floor: dlopen: %s\n", dlerror());
    return 1;
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(h, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR f = nullptr;
  if (!get_list || get_list(&f) != CKR_OK) return fail("C_GetFunctionList", CKR_GENERAL_ERROR);
  if (CK_RV rv = f->C_Initialize(nullptr); rv != CKR_OK) return fail("C_Initialize", rv);

  CK_SLOT_ID slots[16];
  CK_ULONG n = 16;
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n); rv != CKR_OK)
    return fail("C_GetSlotList", rv);
  CK_SLOT_ID slot = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < n && !found; ++i) {
    CK_TOKEN_INFO ti;
    if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK) continue;
    std::string label(reinterpret_cast<const char*>(ti.label), sizeof ti.label);
    label.erase(label.find_last_not_of(' ') + 1);
    if (label == token) {
      slot = slots[i];
      found = true;
    }
  }
  if (!found) return fail("finding the token", CKR_TOKEN_NOT_PRESENT);

  CK_SESSION_HANDLE s;
  if (CK_RV rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
      rv != CKR_OK)
    return fail("C_OpenSession", rv);
  CK_RV rv = f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size());
  OPENSSL_cleanse(pin.data(), pin.size());
  if (rv != CKR_OK) return fail("C_Login", rv);

  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                         {CKA_LABEL, const_cast<char*>(key.data()), key.size()}};
  if (rv = f->C_FindObjectsInit(s, tmpl, 2); rv != CKR_OK) return fail("C_FindObjectsInit", rv);
  CK_OBJECT_HANDLE obj;
  CK_ULONG count = 0;
  rv = f->C_FindObjects(s, &obj, 1, &count);
  f->C_FindObjectsFinal(s);
  if (rv != CKR_OK || count != 1) return fail("C_FindObjects (the key)", rv);

  CK_MECHANISM mech = {CKM_ECDSA, nullptr, 0};
  unsigned char digest[32] = {1}, sig[132];
  CK_ULONG sig_len = sizeof sig;
  if (rv = f->C_SignInit(s, &mech, obj); rv != CKR_OK) return fail("C_SignInit", rv);
  if (rv = f->C_Sign(s, digest, sizeof digest, sig, &sig_len); rv != CKR_OK)
    return fail("C_Sign", rv);
  f->C_CloseSession(s);
  if (rv = f->C_Finalize(nullptr); rv != CKR_OK) return fail("C_Finalize", rv);
  return 0;
}
