// p11_import_key: puts an EC private key from a PEM file into a PKCS#11 token, logging in with
// the user PIN read from a file: what `softhsm2-util --import KEY --token T --label L --id I
// --pin PIN` does, without the PIN on a command line. For tests that move a key issued by
// grafos-ca into a token (the registry's server key, a tenant's client key).
//
//   p11_import_key MODULE TOKEN_LABEL OBJECT_LABEL ID_HEX KEY_PEM PIN_FILE
//
// The key (P-256 or P-384) becomes two token objects with the label and id given, as
// softhsm2-util writes them: CKO_PRIVATE_KEY (CKA_EC_PARAMS of the named curve, CKA_VALUE;
// private, sensitive, sign-only) and CKO_PUBLIC_KEY (CKA_EC_PARAMS, CKA_EC_POINT; verify).
// OpenSSL reads the PEM and encodes the curve OID and the point's OCTET STRING. The PIN and the
// private scalar are wiped after use. Exit status: 0 done, 1 a PKCS#11 call failed (named), 2
// bad arguments, key or PIN file.
#include <dlfcn.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

int fail(const std::string& what, CK_RV rv) {
  std::fprintf(stderr, "p11_import_key: %s failed: CKR 0x%lx\n", what.c_str(),
               static_cast<unsigned long>(rv));
  return 1;
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "p11_import_key: %s\nusage: p11_import_key MODULE TOKEN_LABEL OBJECT_LABEL ID_HEX "
               "KEY_PEM PIN_FILE\n",
               why.c_str());
  return 2;
}

/// Bytes wiped when they go out of scope (the PIN, the private scalar).
struct Secret {
  std::vector<unsigned char> v;
  ~Secret() { OPENSSL_cleanse(v.data(), v.size()); }
};

bool parse_hex(const std::string& hex, std::vector<unsigned char>& out) {
  if (hex.empty() || hex.size() % 2) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned int b = 0;
    if (std::sscanf(hex.c_str() + i, "%2x", &b) != 1) return false;
    out.push_back(static_cast<unsigned char>(b));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) return usage("expected 6 arguments");
  const std::string token = argv[2], label = argv[3];
  std::vector<unsigned char> id;
  if (!parse_hex(argv[4], id)) return usage("ID_HEX must be an even number of hex digits");

  Secret pin;
  {
    std::ifstream in(argv[6], std::ios::binary);
    if (!in) return usage(std::string("cannot read PIN_FILE '") + argv[6] + "'");
    pin.v.assign(std::istreambuf_iterator<char>(in), {});
    while (!pin.v.empty() && (pin.v.back() == '\n' || pin.v.back() == '\r')) pin.v.pop_back();
    if (pin.v.empty()) return usage("the PIN file is empty");
  }

  EVP_PKEY* key = nullptr;
  if (FILE* f = std::fopen(argv[5], "r")) {
    key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
  }
  if (!key || !EVP_PKEY_is_a(key, "EC")) return usage("KEY_PEM is not an EC private key");
  char group[64] = {0};
  BIGNUM* priv = nullptr;
  if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                      nullptr) ||
      !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv))
    return usage("cannot read the EC key's curve and private value");
  const int nid = OBJ_sn2nid(group);
  const int field_bytes = nid == NID_X9_62_prime256v1 ? 32 : nid == NID_secp384r1 ? 48 : 0;
  if (!field_bytes) return usage(std::string("curve ") + group + " is not P-256 or P-384");
  Secret value;
  value.v.resize(static_cast<size_t>(field_bytes));
  BN_bn2binpad(priv, value.v.data(), field_bytes);
  BN_clear_free(priv);
  unsigned char point[1 + 2 * 48];
  size_t point_len = 0;
  if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point,
                                       &point_len))
    return usage("cannot read the EC key's public point");
  EVP_PKEY_free(key);
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  if (!os || !ASN1_OCTET_STRING_set(os, point, static_cast<int>(point_len)))
    return usage("cannot encode the public point");
  std::vector<unsigned char> ec_point(static_cast<size_t>(i2d_ASN1_OCTET_STRING(os, nullptr)));
  unsigned char* q = ec_point.data();
  i2d_ASN1_OCTET_STRING(os, &q);
  ASN1_OCTET_STRING_free(os);
  std::vector<unsigned char> params(
      static_cast<size_t>(i2d_ASN1_OBJECT(OBJ_nid2obj(nid), nullptr)));
  unsigned char* p = params.data();
  i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &p);

  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) return usage(std::string("cannot load the module: ") + dlerror());
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(h, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR f = nullptr;
  if (!get_list || get_list(&f) != CKR_OK || !f)
    return usage("the module has no usable C_GetFunctionList");
  if (CK_RV rv = f->C_Initialize(nullptr); rv != CKR_OK) return fail("C_Initialize", rv);

  int status = 0;
  CK_ULONG n = 0;
  std::vector<CK_SLOT_ID> slots;
  if (f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK) {
    slots.resize(n);
    if (f->C_GetSlotList(CK_TRUE, slots.data(), &n) != CKR_OK) n = 0;
    slots.resize(n);
  }
  CK_SLOT_ID slot = 0;
  bool found = false;
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO ti;
    if (f->C_GetTokenInfo(s, &ti) != CKR_OK) continue;
    std::string l(reinterpret_cast<const char*>(ti.label), sizeof ti.label);
    l.erase(l.find_last_not_of(' ') + 1);
    if (l == token) {
      slot = s;
      found = true;
    }
  }
  if (!found) {
    std::fprintf(stderr, "p11_import_key: no token labelled '%s'\n", token.c_str());
    status = 1;
  }
  if (status == 0) {
    CK_SESSION_HANDLE s;
    CK_RV rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
    if (rv != CKR_OK) {
      status = fail("C_OpenSession", rv);
    } else {
      rv = f->C_Login(s, CKU_USER, pin.v.data(), pin.v.size());
      if (rv != CKR_OK) {
        status = fail("C_Login", rv);
      } else {
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_KEY_TYPE kt = CKK_EC;
        CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
        CK_ATTRIBUTE tmpl[] = {
            {CKA_CLASS, &cls, sizeof cls},
            {CKA_KEY_TYPE, &kt, sizeof kt},
            {CKA_TOKEN, &yes, sizeof yes},
            {CKA_PRIVATE, &yes, sizeof yes},
            {CKA_SENSITIVE, &yes, sizeof yes},
            {CKA_SIGN, &yes, sizeof yes},
            {CKA_DECRYPT, &no, sizeof no},
            {CKA_DERIVE, &no, sizeof no},
            {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
            {CKA_ID, id.data(), id.size()},
            {CKA_EC_PARAMS, params.data(), params.size()},
            {CKA_VALUE, value.v.data(), value.v.size()},
        };
        CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY;
        CK_ATTRIBUTE pub[] = {
            {CKA_CLASS, &pub_cls, sizeof pub_cls},
            {CKA_KEY_TYPE, &kt, sizeof kt},
            {CKA_TOKEN, &yes, sizeof yes},
            {CKA_PRIVATE, &no, sizeof no},
            {CKA_VERIFY, &yes, sizeof yes},
            {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
            {CKA_ID, id.data(), id.size()},
            {CKA_EC_PARAMS, params.data(), params.size()},
            {CKA_EC_POINT, ec_point.data(), ec_point.size()},
        };
        CK_OBJECT_HANDLE obj;
        rv = f->C_CreateObject(s, tmpl, sizeof tmpl / sizeof tmpl[0], &obj);
        if (rv != CKR_OK) {
          status = fail("C_CreateObject (private key)", rv);
        } else if (rv = f->C_CreateObject(s, pub, sizeof pub / sizeof pub[0], &obj); rv != CKR_OK) {
          status = fail("C_CreateObject (public key)", rv);
        }
        f->C_Logout(s);
      }
      f->C_CloseSession(s);
    }
  }
  f->C_Finalize(nullptr);
  if (status == 0) std::printf("key '%s' imported into token '%s'\n", label.c_str(), token.c_str());
  return status;
}
