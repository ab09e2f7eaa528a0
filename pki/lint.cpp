#include "pki/lint.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>
#include <set>

#include "pki/federation.hpp"
#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::pki {
namespace {

Error policy(std::string message) {
  return Error{Errc::policy,
               "profile linter refused the certificate before signing: " + std::move(message)};
}

// What the linter expects, written out from DESIGN.md section 4 independently of profile.cpp.
struct Expectation {
  std::string cn;
  std::vector<std::string> sans;  // "URI:...", "DNS:...", "IP:..."
  bool ca = false;
  int path_len = -1;
  std::set<int> ku_bits;  // RFC 5280 bit numbers: 0 digitalSignature, 5 keyCertSign, 6 cRLSign
  std::vector<int> ekus;
  std::set<int> custom;  // non-critical extensions whose value is one UTF8String
  bool eku_critical = false;
};

// What the certificate of `id` must say. The CN and the URN come from pki/identity (the one place
// the identity forms are written); the key usages and EKUs per role are the profile's.
Expectation expect(const Identity& id) {
  Expectation e;
  e.cn = common_name_for(id);
  if (std::string urn = identity_urn(id); !urn.empty()) e.sans = {"URI:" + urn};
  switch (id.role) {
    case Role::ca:
      e.ca = true;
      e.path_len = id.path_len;
      e.ku_bits = {5, 6};
      return e;
    case Role::intermediate:
      e.ca = true;
      e.path_len = 0;
      e.ku_bits = {5, 6};
      e.ekus = {NID_client_auth};
      return e;
    case Role::peer:
      e.ekus = {NID_client_auth};
      e.custom = {federation::grant_id_nid(), federation::user_id_nid()};
      break;
    case Role::tenant:
    case Role::fabric_observer:
    case Role::fabric_admin:
    case Role::cell:
      e.ekus = {NID_client_auth};
      break;
    case Role::provenance_signer:
      e.ekus = {NID_code_sign};
      break;
    case Role::timestamp_authority:
      e.ekus = {NID_time_stamp};  // RFC 3161 2.3: timeStamping only, critical
      e.eku_critical = true;
      break;
    case Role::server:
      for (const auto& s : id.server_sans) e.sans.push_back(s.to_string());
      e.ekus = {NID_server_auth};
      break;
  }
  e.ku_bits = {0};
  return e;
}

std::string general_name_text(const GENERAL_NAME* g) {
  int type = 0;
  const void* v = GENERAL_NAME_get0_value(g, &type);
  auto str = [](const void* p) {
    const auto* s = static_cast<const ASN1_STRING*>(p);
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
  };
  switch (type) {
    case GEN_URI:
      return "URI:" + str(v);
    case GEN_DNS:
      return "DNS:" + str(v);
    case GEN_IPADD: {
      const auto* s = static_cast<const ASN1_OCTET_STRING*>(v);
      char out[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(s);
      int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (af == 0 || !::inet_ntop(af, ASN1_STRING_get0_data(s), out, sizeof out))
        return "IP:<malformed>";
      return std::string("IP:") + out;
    }
    default:
      return "<GeneralName type " + std::to_string(type) + ">";
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

std::string ekus_text(const std::vector<int>& nids) {
  std::vector<std::string> names;
  for (int n : nids) names.emplace_back(OBJ_nid2sn(n) ? OBJ_nid2sn(n) : "?");
  return join(names);
}

template <class T, auto Free>
using Owned = std::unique_ptr<T, OsslDeleter<Free>>;

Result<Bytes> key_identifier_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1)
    return ossl_error(Errc::crypto, "hashing the subject public key");
  return Bytes(md, md + len);
}

Bytes octets(const ASN1_OCTET_STRING* s) {
  const unsigned char* p = ASN1_STRING_get0_data(s);
  return Bytes(p, p + ASN1_STRING_length(s));
}

}  // namespace

std::vector<std::string> san_strings(X509* cert) {
  std::vector<std::string> out;
  GeneralNamesPtr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!gens) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i)
    out.push_back(general_name_text(sk_GENERAL_NAME_value(gens.get(), i)));
  return out;
}

std::string describe_key(EVP_PKEY* key) {
  if (!key) return "no key";
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) return "EC (unknown curve)";
    std::string g(group);
    if (g == "prime256v1") return "EC P-256";
    if (g == "secp384r1") return "EC P-384";
    if (g == "secp521r1") return "EC P-521";
    if (g == "prime192v1") return "EC P-192";
    return "EC " + g;
  }
  if (EVP_PKEY_is_a(key, "RSA")) return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
  const char* name = EVP_PKEY_get0_type_name(key);
  return name ? name : "unknown key type";
}

namespace {

// OpenSSL's own public-key checks: for EC that the point is on the curve, for RSA an odd modulus
// without small factors and an odd exponent above 1 (EVP_PKEY_public_check), plus the CA/B
// Forum's floor of 65537 for the exponent: a certificate over a key anyone can invert (e = 1)
// lets anyone holding the public certificate act as its subject.
Result<void> check_public_key_math(EVP_PKEY* key, const std::string& d) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
    drain_ossl_errors();
    return Error{Errc::invalid_input,
                 "the " + d + " public key fails OpenSSL's public-key check (" +
                     (EVP_PKEY_is_a(key, "RSA") ? "bad exponent or modulus"
                                                : "the point is not on the curve") +
                     ")"};
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(key, "e", &e) != 1 || !e) {
      drain_ossl_errors();
      return Error{Errc::invalid_input, "the RSA public exponent cannot be read"};
    }
    BignumPtr owned(e);
    if (!BN_is_odd(e) || BN_num_bits(e) < 17)  // odd and >= 2^16 + 1
      return Error{Errc::invalid_input, "the RSA public exponent must be odd and at least 65537"};
  }
  return ok();
}

}  // namespace

Result<void> check_subject_key_policy(EVP_PKEY* key) {
  std::string d = describe_key(key);
  bool allowed = d == "EC P-256" || d == "EC P-384";
  if (!allowed && EVP_PKEY_is_a(key, "RSA")) {
    int bits = EVP_PKEY_get_bits(key);
    allowed = bits >= 2048 && bits <= 4096;
  }
  if (!allowed)
    return Error{Errc::invalid_input,
                 "key type " + d + " is not allowed: use EC P-256, EC P-384 or RSA 2048-4096"};
  return check_public_key_math(key, d);
}

namespace {

// The subject key of `tbs`: EC P-256 or P-384 as id-ecPublicKey with a named curve and an
// encoded point of that curve's size (RFC 5480), or (leaves only) RSA 2048-4096.
Result<void> check_spki(X509* tbs, bool ca) {
  X509_PUBKEY* spki = X509_get_X509_PUBKEY(tbs);
  ASN1_OBJECT* alg = nullptr;
  const unsigned char* pk = nullptr;
  int pk_len = 0;
  X509_ALGOR* algor = nullptr;
  if (!spki || X509_PUBKEY_get0_param(&alg, &pk, &pk_len, &algor, spki) != 1 || !alg)
    return policy("the certificate has no public key");
  if (OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey) {
    int ptype = V_ASN1_UNDEF;
    const void* pval = nullptr;
    X509_ALGOR_get0(nullptr, &ptype, &pval, algor);
    if (ptype != V_ASN1_OBJECT || !pval)
      return policy("the EC public key does not name its curve (RFC 5480 namedCurve)");
    int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval));
    int field = curve == NID_X9_62_prime256v1 ? 32 : curve == NID_secp384r1 ? 48 : 0;
    if (field == 0)
      return policy(std::string("key type EC ") +
                    (curve == NID_undef ? "(unknown curve)" : OBJ_nid2sn(curve)) +
                    " is not allowed: use EC P-256, EC P-384 or RSA 2048-4096");
    bool uncompressed = pk_len == 2 * field + 1 && pk[0] == 0x04;
    bool compressed = pk_len == field + 1 && (pk[0] == 0x02 || pk[0] == 0x03);
    if (!uncompressed && !compressed)
      return policy("the EC public key is not an encoded point of its curve (RFC 5480)");
    return ok();
  }
  if (ca) return policy("the CA key must be an EC key");
  EVP_PKEY* pub = X509_get0_pubkey(tbs);
  if (!pub) return policy("the certificate's public key does not decode");
  if (auto r = check_subject_key_policy(pub); !r) return policy(r.error().message);
  return ok();
}

}  // namespace

Result<void> lint_certificate(X509* tbs, const Identity& id, X509* issuer) {
  const Expectation e = expect(id);
  X509* iss = issuer ? issuer : tbs;

  // Version and serial (RFC 5280 4.1.2.1, 4.1.2.2; CA/B-style entropy).
  if (X509_get_version(tbs) != X509_VERSION_3) return policy("the certificate is not X.509 v3");
  const ASN1_INTEGER* serial = X509_get0_serialNumber(tbs);
  BignumPtr bn(serial ? ASN1_INTEGER_to_BN(serial, nullptr) : nullptr);
  if (!bn) return policy("the serial number is missing");
  if (BN_is_negative(bn.get()) || BN_is_zero(bn.get()))
    return policy("the serial number is not positive");
  int octets_needed = BN_num_bytes(bn.get()) + (BN_num_bits(bn.get()) % 8 == 0 ? 1 : 0);
  if (octets_needed > 20)
    return policy("the serial number is " + std::to_string(octets_needed) +
                  " octets; RFC 5280 allows at most 20");
  if (BN_num_bits(bn.get()) < 64) return policy("the serial number has fewer than 64 random bits");

  // Names.
  if (X509_NAME_cmp(X509_get_issuer_name(tbs), X509_get_subject_name(iss)) != 0)
    return policy("the issuer name differs from the CA certificate's subject");
  X509_NAME* subject = X509_get_subject_name(tbs);
  if (X509_NAME_entry_count(subject) != 1)
    return policy("the subject must be exactly one CN attribute");
  X509_NAME_ENTRY* ent = X509_NAME_get_entry(subject, 0);
  if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent)) != NID_commonName)
    return policy("the subject attribute is not commonName");
  ASN1_STRING* cn = X509_NAME_ENTRY_get_data(ent);
  if (ASN1_STRING_type(cn) != V_ASN1_UTF8STRING)
    return policy("the subject CN is not a UTF8String");
  std::string cn_text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                      static_cast<size_t>(ASN1_STRING_length(cn)));
  if (cn_text != e.cn)
    return policy("subject CN is '" + printable(cn_text) + "', the profile requires '" +
                  printable(e.cn) + "'");

  // Validity.
  const ASN1_TIME* nb = X509_get0_notBefore(tbs);
  const ASN1_TIME* na = X509_get0_notAfter(tbs);
  if (!nb || !na || ASN1_TIME_compare(nb, na) >= 0)
    return policy("notBefore is not before notAfter");
  if (issuer) {
    if (ASN1_TIME_compare(na, X509_get0_notAfter(issuer)) > 0)
      return policy("notAfter is beyond the CA certificate's notAfter");
    if (ASN1_TIME_compare(nb, X509_get0_notBefore(issuer)) < 0)
      return policy("notBefore is before the CA certificate's notBefore");
  }

  // Subject key, read from the SubjectPublicKeyInfo itself. EC keys are checked on the encoded
  // form (named curve, point of the curve's size); only other key types are decoded.
  if (auto r = check_spki(tbs, e.ca); !r) return r;

  // Extensions: exactly the expected set, each once, with the right criticality.
  std::set<int> expected_ext = {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier,
                                NID_authority_key_identifier};
  if (!e.sans.empty()) expected_ext.insert(NID_subject_alt_name);
  if (!e.ekus.empty()) expected_ext.insert(NID_ext_key_usage);
  expected_ext.insert(e.custom.begin(), e.custom.end());
  std::set<int> seen;
  for (int i = 0; i < X509_get_ext_count(tbs); ++i) {
    X509_EXTENSION* ext = X509_get_ext(tbs, i);
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    const char* sn = nid == NID_undef ? "unknown extension" : OBJ_nid2sn(nid);
    if (!expected_ext.count(nid))
      return policy(std::string("unexpected extension ") + sn + " in a " +
                    std::string(role_name(id.role)) + " certificate");
    if (!seen.insert(nid).second) return policy(std::string("duplicate extension ") + sn);
    bool critical = X509_EXTENSION_get_critical(ext) == 1;
    bool must_be_critical = nid == NID_basic_constraints || nid == NID_key_usage ||
                            (nid == NID_ext_key_usage && e.eku_critical);
    if (critical != must_be_critical)
      return policy(std::string(sn) +
                    (must_be_critical ? " must be critical" : " must not be critical"));
    if (e.custom.count(nid)) {
      const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
      const unsigned char* p = ASN1_STRING_get0_data(v);
      const unsigned char* end = p + ASN1_STRING_length(v);
      Owned<ASN1_UTF8STRING, ASN1_UTF8STRING_free> u(
          d2i_ASN1_UTF8STRING(nullptr, &p, ASN1_STRING_length(v)));
      if (!u || p != end || ASN1_STRING_length(u.get()) == 0) {
        drain_ossl_errors();
        return policy(std::string(sn) + " is not one non-empty UTF8String");
      }
    }
  }
  for (int nid : expected_ext)
    if (!seen.count(nid)) return policy(std::string("missing extension ") + OBJ_nid2sn(nid));

  // basicConstraints.
  Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(tbs, NID_basic_constraints, nullptr, nullptr)));
  if (!bc) return policy("basicConstraints does not decode");
  if ((bc->ca != 0) != e.ca)
    return policy(e.ca ? "CA:TRUE is required" : "a leaf must be CA:FALSE");
  if (!e.ca && bc->pathlen) return policy("a leaf must not carry a pathLenConstraint");
  if (e.ca) {
    long pl = bc->pathlen ? ASN1_INTEGER_get(bc->pathlen) : -1;
    if (pl != e.path_len)
      return policy("pathLenConstraint is " + std::to_string(pl) + ", expected " +
                    std::to_string(e.path_len));
  }

  // keyUsage: exactly the expected bits.
  Owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free> ku(
      static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(tbs, NID_key_usage, nullptr, nullptr)));
  if (!ku) return policy("keyUsage does not decode");
  for (int bit = 0; bit < 9; ++bit)
    if ((ASN1_BIT_STRING_get_bit(ku.get(), bit) == 1) != (e.ku_bits.count(bit) == 1))
      return policy("keyUsage bit " + std::to_string(bit) + " differs from the profile");

  // extendedKeyUsage.
  if (!e.ekus.empty()) {
    Owned<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free> eku(static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(tbs, NID_ext_key_usage, nullptr, nullptr)));
    if (!eku) return policy("extendedKeyUsage does not decode");
    std::vector<int> got;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i)
      got.push_back(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i)));
    if (got != e.ekus)
      return policy("extendedKeyUsage is " + ekus_text(got) + ", the profile requires " +
                    ekus_text(e.ekus));
  }

  // subjectAltName: exactly the expected entries, in order.
  if (!e.sans.empty()) {
    GeneralNamesPtr gens(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(tbs, NID_subject_alt_name, nullptr, nullptr)));
    if (!gens) return policy("subjectAltName does not decode");
    std::vector<std::string> got;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i)
      got.push_back(general_name_text(sk_GENERAL_NAME_value(gens.get(), i)));
    if (got != e.sans)
      return policy("subjectAltName is " + printable(join(got)) + ", the profile requires " +
                    printable(join(e.sans)));
  }

  // SKI (RFC 5280 4.2.1.2 method 1) and AKI keyid.
  auto own_kid = key_identifier_of(tbs);
  if (!own_kid) return std::move(own_kid).error();
  Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> ski(static_cast<ASN1_OCTET_STRING*>(
      X509_get_ext_d2i(tbs, NID_subject_key_identifier, nullptr, nullptr)));
  if (!ski || octets(ski.get()) != *own_kid)
    return policy("subjectKeyIdentifier is not the SHA-1 of the public key (RFC 5280 method 1)");
  Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free> aki(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(tbs, NID_authority_key_identifier, nullptr, nullptr)));
  if (!aki || !aki->keyid) return policy("authorityKeyIdentifier has no keyIdentifier");
  if (aki->issuer || aki->serial)
    return policy("authorityKeyIdentifier must carry only the keyIdentifier");
  Bytes issuer_kid;
  if (!issuer) {
    issuer_kid = *own_kid;
  } else if (const ASN1_OCTET_STRING* k = X509_get0_subject_key_id(issuer)) {
    issuer_kid = octets(k);
  } else {
    auto k2 = key_identifier_of(issuer);
    if (!k2) return std::move(k2).error();
    issuer_kid = *k2;
  }
  if (octets(aki->keyid) != issuer_kid)
    return policy("authorityKeyIdentifier does not match the CA's subjectKeyIdentifier");
  return ok();
}

}  // namespace grafos::pki
