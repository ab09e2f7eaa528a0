#include "hsm/pkcs11/p11_object.hpp"

#include <openssl/objects.h>

#include <algorithm>

#include "hsm/pkcs11/p11_error.hpp"
#include "util/ossl.hpp"

namespace grafos::hsm::p11 {
namespace {

// A libp11 key: a failed signature names the token's CKR_ return code (libp11 leaves it in
// OpenSSL's error queue).
class P11Signer final : public EvpSigner {
 public:
  using EvpSigner::EvpSigner;
  Error signing_error(std::string_view what) const override {
    return p11_call_error(Errc::key_backend, what, description());
  }
};

/// DER of the P-256 curve OID, for CKA_EC_PARAMS (encoded by OpenSSL, not by hand).
Bytes p256_params() {
  ASN1_OBJECT* obj = OBJ_nid2obj(NID_X9_62_prime256v1);
  int len = i2d_ASN1_OBJECT(obj, nullptr);
  Bytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  i2d_ASN1_OBJECT(obj, &p);
  return out;
}

/// Whether the token still holds a private key with `k`'s id and label.
bool private_key_exists(Token& token, const PKCS11_KEY* k) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &cls, sizeof cls}};
  if (k->id_len > 0) tmpl.push_back({CKA_ID, k->id, k->id_len});
  std::string label = k->label ? k->label : "";
  if (!label.empty()) tmpl.push_back({CKA_LABEL, label.data(), label.size()});
  auto* fl = token.module->fl;
  if (fl->C_FindObjectsInit(token.session, tmpl.data(), tmpl.size()) != CKR_OK) return true;
  CK_OBJECT_HANDLE h;
  CK_ULONG n = 0;
  fl->C_FindObjects(token.session, &h, 1, &n);
  fl->C_FindObjectsFinal(token.session);
  return n > 0;
}

}  // namespace

Result<std::vector<CK_OBJECT_HANDLE>> find_objects(Token& token, CK_ATTRIBUTE_TYPE type,
                                                   const void* value, size_t len,
                                                   const std::string& where) {
  auto* fl = token.module->fl;
  CK_ATTRIBUTE tmpl = {type, const_cast<void*>(value), static_cast<CK_ULONG>(len)};
  if (CK_RV rv = fl->C_FindObjectsInit(token.session, &tmpl, 1); rv != CKR_OK)
    return ck_error(rv, "C_FindObjectsInit", where);
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE buf[32];
  CK_ULONG n = 0;
  CK_RV rv;
  while ((rv = fl->C_FindObjects(token.session, buf, 32, &n)) == CKR_OK && n > 0)
    out.insert(out.end(), buf, buf + n);
  fl->C_FindObjectsFinal(token.session);
  if (rv != CKR_OK) return ck_error(rv, "C_FindObjects", where);
  return out;
}

Result<void> destroy_objects(Token& token, const std::vector<CK_OBJECT_HANDLE>& handles,
                             const std::string& what, const std::string& where) {
  Result<void> r = ok();
  for (CK_OBJECT_HANDLE h : handles)
    if (CK_RV rv = token.module->fl->C_DestroyObject(token.session, h); rv != CKR_OK && r)
      r = ck_error(rv, "C_DestroyObject of " + what, where);
  return r;
}

Result<std::vector<CK_OBJECT_HANDLE>> generate_ec_p256(Token& token, const std::string& label,
                                                       const Bytes& id, const std::string& where) {
  Bytes params = p256_params();
  Bytes id_copy = id;
  std::string lbl = label;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE kt = CKK_EC;
  std::vector<CK_ATTRIBUTE> pub = {
      {CKA_CLASS, &pub_class, sizeof pub_class},
      {CKA_KEY_TYPE, &kt, sizeof kt},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_EC_PARAMS, params.data(), params.size()},
      {CKA_ID, id_copy.data(), id_copy.size()},
  };
  std::vector<CK_ATTRIBUTE> priv = {
      {CKA_CLASS, &priv_class, sizeof priv_class},
      {CKA_KEY_TYPE, &kt, sizeof kt},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_SIGN, &yes, sizeof yes},
      {CKA_DECRYPT, &no, sizeof no},
      {CKA_UNWRAP, &no, sizeof no},
      {CKA_DERIVE, &no, sizeof no},
      {CKA_ID, id_copy.data(), id_copy.size()},
  };
  if (!lbl.empty()) {
    pub.push_back({CKA_LABEL, lbl.data(), lbl.size()});
    priv.push_back({CKA_LABEL, lbl.data(), lbl.size()});
  }
  CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
  if (CK_RV rv = token.module->fl->C_GenerateKeyPair(token.session, &mech, pub.data(), pub.size(),
                                                     priv.data(), priv.size(), &hpub, &hpriv);
      rv != CKR_OK)
    return ck_error(rv, "C_GenerateKeyPair (EC P-256) on token '" + token.label + "'", where);
  return std::vector<CK_OBJECT_HANDLE>{hpub, hpriv};
}

Result<std::unique_ptr<Signer>> open_signer(const std::shared_ptr<Token>& token, const Pkcs11Uri& u,
                                            const std::string& where) {
  PKCS11_KEY* keys = nullptr;
  unsigned int n = 0;
  // libp11 keeps the keys it listed once and adds new ones on each listing, so keys destroyed
  // since the first listing of this slot list (e.g. replaced by create_key) stay in its list:
  // from the second listing on, the token is asked whether a matching key still exists.
  // The first listing is the token's own answer, just given (three PKCS#11 calls saved).
  const bool first_listing = !token->keys_listed;
  {
    std::lock_guard lock(token->module->mu);
    if (PKCS11_enumerate_keys(token->slot->token, &keys, &n) != 0)
      return p11_call_error(Errc::key_backend, "listing private keys", where);
    token->keys_listed = true;
  }
  PKCS11_KEY* match = nullptr;
  int matches = 0;
  for (unsigned i = 0; i < n; ++i) {
    PKCS11_KEY* k = &keys[i];
    if (u.object && (!k->label || *u.object != k->label)) continue;
    if (u.id && (k->id_len != u.id->size() || !std::equal(u.id->begin(), u.id->end(), k->id)))
      continue;
    if (!first_listing && !private_key_exists(*token, k)) continue;
    match = k;
    ++matches;
  }
  if (matches == 0)
    return Error{Errc::token_missing, where + ": no private key with this object=/id= on token '" +
                                          token->label +
                                          "' (list them: pkcs11-tool --list-objects --login)"};
  if (matches > 1)
    return Error{Errc::invalid_input, where + ": " + std::to_string(matches) +
                                          " private keys match; add id= to choose one"};
  EvpPkeyPtr key(PKCS11_get_private_key(match));
  if (!key) return p11_call_error(Errc::key_backend, "opening the private key", where);
  auto signer = std::make_unique<P11Signer>(std::move(key), where, token);
  if (!signer->public_key())
    return ossl_error(Errc::key_backend,
                      where + ": the token gives no public point for this key (CKA_EC_POINT)");
  return std::unique_ptr<Signer>(std::move(signer));
}

}  // namespace grafos::hsm::p11
