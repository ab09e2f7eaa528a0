// p11_import_key: puts an EC private key from a PEM file into a PKCS#11 token, logging in with
// the user PIN read from a file: what `softhsm2-util --import KEY --token T --label L --id I
// --pin PIN` does, without the PIN on a command line. For tests that move a key issued by
// grafos-ca into a token (the registry's server key, a tenant's client key, a provenance signer).
//
//   p11_import_key MODULE TOKEN_LABEL OBJECT_LABEL ID_HEX KEY_PEM PIN_FILE
//
// The key (P-256 or P-384) becomes two token objects with the label and id given, as
// softhsm2-util writes them: CKO_PRIVATE_KEY (CKA_EC_PARAMS of the named curve, CKA_VALUE;
// private, sensitive, sign-only) and CKO_PUBLIC_KEY (CKA_EC_PARAMS, CKA_EC_POINT; verify).
// OpenSSL reads the PEM and encodes the curve OID and the point's OCTET STRING. The PIN and the
// private scalar are wiped after use. Exit status: 0 done, 1 a PKCS#11 call failed (named), 2
// bad arguments, key or PIN file.
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <iterator>
#include <vector>

#include "tests/support/fixtures.hpp"
#include "tests/support/p11_tool.hpp"
#include "util/bytes.hpp"

namespace {

constexpr const char* kTool = "p11_import_key";
constexpr const char* kSynopsis = "MODULE TOKEN_LABEL OBJECT_LABEL ID_HEX KEY_PEM PIN_FILE";

/// The DER-encoded values PKCS#11 wants for an EC key, from OpenSSL.
struct EcKey {
  std::vector<unsigned char> params;  // CKA_EC_PARAMS: the curve OID
  std::vector<unsigned char> point;   // CKA_EC_POINT: OCTET STRING of the encoded point
  std::vector<unsigned char> value;   // CKA_VALUE: the private scalar, wiped on destruction
  ~EcKey() { OPENSSL_cleanse(value.data(), value.size()); }
};

/// Reads `path` as an EC P-256/P-384 private key; an empty string, or what is wrong.
std::string read_ec_key(const char* path, EcKey& out) {
  EVP_PKEY* key = nullptr;
  if (FILE* f = std::fopen(path, "r")) {
    key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
  }
  if (!key || !EVP_PKEY_is_a(key, "EC")) {
    EVP_PKEY_free(key);
    return "KEY_PEM is not an EC private key";
  }
  char group[64] = {0};
  BIGNUM* priv = nullptr;
  unsigned char point[1 + 2 * 48];
  size_t point_len = 0;
  const bool read = EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                   sizeof group, nullptr) &&
                    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) &&
                    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                    sizeof point, &point_len);
  EVP_PKEY_free(key);
  const int nid = read ? OBJ_sn2nid(group) : NID_undef;
  const int field_bytes = nid == NID_X9_62_prime256v1 ? 32 : nid == NID_secp384r1 ? 48 : 0;
  if (field_bytes) {
    out.value.resize(static_cast<size_t>(field_bytes));
    BN_bn2binpad(priv, out.value.data(), field_bytes);
  }
  BN_clear_free(priv);
  if (!read) return "cannot read the EC key's curve, private value and public point";
  if (!field_bytes) return std::string("curve ") + group + " is not P-256 or P-384";

  out.params.resize(static_cast<size_t>(i2d_ASN1_OBJECT(OBJ_nid2obj(nid), nullptr)));
  unsigned char* p = out.params.data();
  i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &p);
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  if (!os || !ASN1_OCTET_STRING_set(os, point, static_cast<int>(point_len))) {
    ASN1_OCTET_STRING_free(os);
    return "cannot encode the public point";
  }
  out.point.resize(static_cast<size_t>(i2d_ASN1_OCTET_STRING(os, nullptr)));
  p = out.point.data();
  i2d_ASN1_OCTET_STRING(os, &p);
  ASN1_OCTET_STRING_free(os);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace grafos::test::p11_tool;
  if (argc != 7) return usage(kTool, "expected 6 arguments", kSynopsis);
  const std::string token = argv[2], label = argv[3];
  auto id = grafos::from_hex(argv[4]);
  if (!id || id->empty())
    return usage(kTool, "ID_HEX must be an even number of hex digits", kSynopsis);
  auto pin = grafos::read_secret_file(argv[6]);
  if (!pin) return usage(kTool, "PIN_FILE: " + pin.error().message, kSynopsis);
  if (pin->empty()) return usage(kTool, "the PIN file is empty", kSynopsis);
  EcKey key;
  if (auto why = read_ec_key(argv[5], key); !why.empty()) return usage(kTool, why, kSynopsis);

  grafos::test::Pkcs11Probe module(argv[1]);
  CK_FUNCTION_LIST_PTR f = module.functions();
  if (!f)
    return usage(kTool, std::string("cannot load or initialise '") + argv[1] + "'", kSynopsis);
  auto slot = module.slot_of(token);
  if (!slot) {
    std::fprintf(stderr, "%s: no token labelled '%s'\n", kTool, token.c_str());
    return 1;
  }
  CK_SESSION_HANDLE s;
  if (CK_RV rv = f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
      rv != CKR_OK)
    return fail(kTool, "C_OpenSession", rv);
  int status = 0;
  if (CK_RV rv = f->C_Login(s, CKU_USER, utf8(*pin), pin->size()); rv != CKR_OK) {
    status = fail(kTool, "C_Login", rv);
  } else {
    CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    auto* lbl = const_cast<char*>(label.data());
    CK_ATTRIBUTE priv[] = {
        {CKA_CLASS, &priv_cls, sizeof priv_cls},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_LABEL, lbl, label.size()},
        {CKA_ID, id->data(), id->size()},
        {CKA_EC_PARAMS, key.params.data(), key.params.size()},
        {CKA_VALUE, key.value.data(), key.value.size()},
    };
    CK_ATTRIBUTE pub[] = {
        {CKA_CLASS, &pub_cls, sizeof pub_cls},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_LABEL, lbl, label.size()},
        {CKA_ID, id->data(), id->size()},
        {CKA_EC_PARAMS, key.params.data(), key.params.size()},
        {CKA_EC_POINT, key.point.data(), key.point.size()},
    };
    CK_OBJECT_HANDLE obj;
    if (CK_RV c = f->C_CreateObject(s, priv, std::size(priv), &obj); c != CKR_OK)
      status = fail(kTool, "C_CreateObject (private key)", c);
    else if (c = f->C_CreateObject(s, pub, std::size(pub), &obj); c != CKR_OK)
      status = fail(kTool, "C_CreateObject (public key)", c);
    f->C_Logout(s);
  }
  f->C_CloseSession(s);
  if (status == 0) std::printf("key '%s' imported into token '%s'\n", label.c_str(), token.c_str());
  return status;
}
