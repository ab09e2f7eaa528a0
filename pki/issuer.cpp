#include "pki/issuer.hpp"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "pki/lint.hpp"

namespace grafos::pki {
namespace {

template <class T, auto Free>
using Owned = std::unique_ptr<T, OsslDeleter<Free>>;

// Validity backdating for clock skew between hosts; never before the CA's own notBefore.
constexpr std::time_t kBackdateSeconds = 300;

int ku_bit(unsigned flag) {
  switch (flag) {
    case KU_DIGITAL_SIGNATURE:
      return 0;
    case KU_NON_REPUDIATION:
      return 1;
    case KU_KEY_ENCIPHERMENT:
      return 2;
    case KU_DATA_ENCIPHERMENT:
      return 3;
    case KU_KEY_AGREEMENT:
      return 4;
    case KU_KEY_CERT_SIGN:
      return 5;
    case KU_CRL_SIGN:
      return 6;
    case KU_ENCIPHER_ONLY:
      return 7;
    case KU_DECIPHER_ONLY:
      return 8;
  }
  return -1;
}

Result<std::time_t> to_time_t(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return Error{Errc::invalid_input, "unreadable time"};
  return ::timegm(&tm);
}

std::string utc_text(std::time_t t) {
  struct tm tm {};
  char buf[32];
  if (!::gmtime_r(&t, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return "?";
  return buf;
}

Result<void> set_serial(X509* cert) {
  unsigned char buf[20];
  if (RAND_bytes(buf, sizeof buf) != 1) return ossl_error(Errc::crypto, "drawing a serial number");
  buf[0] &= 0x7f;  // positive
  BignumPtr bn(BN_bin2bn(buf, sizeof buf, nullptr));
  Asn1IntegerPtr serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1)
    return ossl_error(Errc::crypto, "setting the serial number");
  return ok();
}

Result<void> add_ext(X509* cert, int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_APPEND) != 1)
    return ossl_error(Errc::crypto, std::string("adding extension ") + OBJ_nid2sn(nid));
  return ok();
}

Result<Bytes> key_id(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1)
    return ossl_error(Errc::crypto, "hashing the public key for the key identifier");
  return Bytes(md, md + len);
}

// Sets the certificate's SubjectPublicKeyInfo. For an EC key it is id-ecPublicKey, the named
// curve and the uncompressed point, all of which the key hands out directly. X509_set_pubkey would
// produce the same bytes, but on a provider key OpenSSL 3.0 re-encodes it through OSSL_ENCODER and
// decodes the result again through a freshly built OSSL_DECODER chain: more than half of all the
// instructions of one issuance (bench/README.md). Other keys (RSA from a CSR) and the CA
// certificate itself (`fast` false) take that road; only X509_set_pubkey also caches the key in
// the certificate for X509_get0_pubkey.
Result<void> set_public_key(X509* cert, EVP_PKEY* key, bool fast) {
  if (auto ec = fast ? ec_public_key(key) : std::nullopt;
      ec && ec->point.size() > 1 && ec->point[0] == 0x04) {
    int curve = OBJ_txt2nid(ec->group.c_str());
    auto* enc = static_cast<unsigned char*>(OPENSSL_memdup(ec->point.data(), ec->point.size()));
    X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert);
    if (curve != NID_undef && enc && spki &&
        X509_PUBKEY_set0_param(spki, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                               OBJ_nid2obj(curve), enc, static_cast<int>(ec->point.size())) == 1)
      return ok();
    OPENSSL_free(enc);
    return ossl_error(Errc::crypto, "setting the EC public key");
  }
  if (X509_set_pubkey(cert, key) != 1) return ossl_error(Errc::crypto, "setting the public key");
  return ok();
}

// Builds the to-be-signed certificate. `issuer` null: self-signed (the CA).
Result<X509Ptr> build_tbs(const Profile& p, EVP_PKEY* subject_key, X509* issuer,
                          std::time_t not_before, std::time_t not_after) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return ossl_error(Errc::crypto, "creating a certificate");
  if (auto r = set_serial(cert.get()); !r) return std::move(r).error();

  X509NamePtr name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(p.common_name.data()),
                                 static_cast<int>(p.common_name.size()), -1, 0) != 1 ||
      X509_set_subject_name(cert.get(), name.get()) != 1)
    return ossl_error(Errc::invalid_input, "setting subject CN '" + printable(p.common_name) + "'");
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name.get()) != 1)
    return ossl_error(Errc::crypto, "setting the issuer name");

  Asn1TimePtr nb(ASN1_TIME_adj(nullptr, not_before, 0, 0));
  Asn1TimePtr na(ASN1_TIME_adj(nullptr, not_after, 0, 0));
  if (!nb || !na || X509_set1_notBefore(cert.get(), nb.get()) != 1 ||
      X509_set1_notAfter(cert.get(), na.get()) != 1)
    return ossl_error(Errc::crypto, "setting the validity");
  if (auto r = set_public_key(cert.get(), subject_key, issuer != nullptr); !r)
    return std::move(r).error();

  // basicConstraints (critical).
  Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free> bc(BASIC_CONSTRAINTS_new());
  if (!bc) return ossl_error(Errc::crypto, "allocating basicConstraints");
  bc->ca = p.is_ca ? 0xff : 0;
  if (p.path_len >= 0) {
    bc->pathlen = ASN1_INTEGER_new();
    if (!bc->pathlen || ASN1_INTEGER_set(bc->pathlen, p.path_len) != 1)
      return ossl_error(Errc::crypto, "setting pathLenConstraint");
  }
  if (auto r = add_ext(cert.get(), NID_basic_constraints, bc.get(), true); !r) return r.error();

  // keyUsage (critical).
  Owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free> ku(ASN1_BIT_STRING_new());
  if (!ku) return ossl_error(Errc::crypto, "allocating keyUsage");
  for (unsigned flag = 1; flag <= 0x8000; flag <<= 1)
    if ((p.key_usage & flag) && ku_bit(flag) >= 0)
      ASN1_BIT_STRING_set_bit(ku.get(), ku_bit(flag), 1);
  if (auto r = add_ext(cert.get(), NID_key_usage, ku.get(), true); !r) return r.error();

  // extendedKeyUsage.
  if (!p.eku_nids.empty()) {
    Owned<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free> eku(sk_ASN1_OBJECT_new_null());
    if (!eku) return ossl_error(Errc::crypto, "allocating extendedKeyUsage");
    for (int nid : p.eku_nids) sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(nid));
    if (auto r = add_ext(cert.get(), NID_ext_key_usage, eku.get(), p.eku_critical); !r)
      return r.error();
  }

  // subjectAltName.
  if (!p.sans.empty()) {
    GeneralNamesPtr gens(sk_GENERAL_NAME_new_null());
    if (!gens) return ossl_error(Errc::crypto, "allocating subjectAltName");
    for (const auto& s : p.sans) {
      Owned<GENERAL_NAME, GENERAL_NAME_free> g(GENERAL_NAME_new());
      if (!g) return ossl_error(Errc::crypto, "allocating a GeneralName");
      if (s.kind == SanEntry::Kind::ip) {
        ASN1_OCTET_STRING* ip = a2i_IPADDRESS(s.value.c_str());
        if (!ip) return ossl_error(Errc::invalid_input, "encoding IP address " + s.value);
        GENERAL_NAME_set0_value(g.get(), GEN_IPADD, ip);
      } else {
        ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
        if (!ia5 || ASN1_STRING_set(ia5, s.value.data(), static_cast<int>(s.value.size())) != 1) {
          ASN1_IA5STRING_free(ia5);
          return ossl_error(Errc::crypto, "encoding SAN " + printable(s.value));
        }
        GENERAL_NAME_set0_value(g.get(), s.kind == SanEntry::Kind::uri ? GEN_URI : GEN_DNS, ia5);
      }
      if (sk_GENERAL_NAME_push(gens.get(), g.get()) <= 0)
        return ossl_error(Errc::crypto, "building subjectAltName");
      g.release();
    }
    if (auto r = add_ext(cert.get(), NID_subject_alt_name, gens.get(), false); !r) return r.error();
  }

  // SKI (method 1: SHA-1 of the subjectPublicKey BIT STRING) and AKI keyid.
  auto own = key_id(cert.get());
  if (!own) return std::move(own).error();
  Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> ski(ASN1_OCTET_STRING_new());
  if (!ski || ASN1_OCTET_STRING_set(ski.get(), own->data(), static_cast<int>(own->size())) != 1)
    return ossl_error(Errc::crypto, "encoding subjectKeyIdentifier");
  if (auto r = add_ext(cert.get(), NID_subject_key_identifier, ski.get(), false); !r)
    return r.error();
  Bytes issuer_kid = *own;
  if (issuer) {
    if (const ASN1_OCTET_STRING* k = X509_get0_subject_key_id(issuer)) {
      const unsigned char* d = ASN1_STRING_get0_data(k);
      issuer_kid.assign(d, d + ASN1_STRING_length(k));
    } else {
      auto k2 = key_id(issuer);
      if (!k2) return std::move(k2).error();
      issuer_kid = *k2;
    }
  }
  Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free> aki(AUTHORITY_KEYID_new());
  if (!aki || !(aki->keyid = ASN1_OCTET_STRING_new()) ||
      ASN1_OCTET_STRING_set(aki->keyid, issuer_kid.data(), static_cast<int>(issuer_kid.size())) !=
          1)
    return ossl_error(Errc::crypto, "encoding authorityKeyIdentifier");
  if (auto r = add_ext(cert.get(), NID_authority_key_identifier, aki.get(), false); !r)
    return r.error();

  // Custom extensions (non-critical), their values already DER.
  for (const auto& c : p.custom_extensions) {
    Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
    if (!value || ASN1_OCTET_STRING_set(value.get(), c.der_value.data(),
                                        static_cast<int>(c.der_value.size())) != 1)
      return ossl_error(Errc::crypto, "encoding a custom extension");
    X509ExtPtr ext(X509_EXTENSION_create_by_NID(nullptr, c.nid, 0, value.get()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1)
      return ossl_error(Errc::crypto, std::string("adding extension ") +
                                          (OBJ_nid2sn(c.nid) ? OBJ_nid2sn(c.nid) : "?"));
  }
  return cert;
}

// Signs the linted certificate with a throwaway key of the CA key's type first (boulder's lint
// certificate): the TBS is then complete (its signature AlgorithmIdentifier set), so the ledger
// can record its hash before the real key signs, and the real signature must leave it
// byte-identical.
Result<Bytes> presign(X509* cert, EVP_PKEY* ca_key) {
  thread_local EvpPkeyPtr throwaway;
  thread_local std::string group;
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(ca_key, "group", name, sizeof name, &len) != 1)
    return ossl_error(Errc::crypto, "reading the CA key's curve");
  if (!throwaway || group != name) {
    throwaway.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", name));
    group = name;
    if (!throwaway) return ossl_error(Errc::crypto, "making the throwaway lint key");
  }
  if (X509_sign(cert, throwaway.get(), EVP_sha256()) <= 0)
    return ossl_error(Errc::crypto, "signing the lint certificate with the throwaway key");
  unsigned char* der = nullptr;
  int n = i2d_re_X509_tbs(cert, &der);
  if (n <= 0) return ossl_error(Errc::crypto, "encoding the TBS certificate");
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

// Signs with `signer` and verifies with `verify_key`: a faulty HSM must not produce a
// certificate that does not verify.
Result<void> sign_verify(X509* cert, hsm::Signer& signer, EVP_PKEY* verify_key) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return ossl_error(Errc::crypto, "allocating a signing context");
  if (auto r = signer.init_digest_sign(ctx.get()); !r) return r;
  if (X509_sign_ctx(cert, ctx.get()) <= 0) return signer.signing_error("signing the certificate");
  if (X509_verify(cert, verify_key) != 1) {
    drain_ossl_errors();
    return Error{Errc::crypto, "the signature made by " + signer.description() +
                                   " does not verify with the CA public key; nothing was written"};
  }
  return ok();
}

// Lint, sign with `signer`, verify with `verify_key`. Nothing reaches the signer unless the
// linter passed.
Result<void> lint_sign_verify(X509* cert, const Identity& id, X509* issuer, hsm::Signer& signer,
                              EVP_PKEY* verify_key) {
  if (auto r = lint_certificate(cert, id, issuer); !r) return r;
  return sign_verify(cert, signer, verify_key);
}

}  // namespace

Result<void> check_days(int days) {
  if (days < 1 || days > kMaxDays)
    return Error{Errc::usage, "invalid validity of " + std::to_string(days) + " days: must be 1-" +
                                  std::to_string(kMaxDays)};
  return ok();
}

std::string serial_hex(X509* cert) {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex ? hex : "");
  OPENSSL_free(hex);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string rfc3339(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<X509Ptr> create_ca_certificate(const Identity& ca, hsm::Signer& signer, int days) {
  return create_ca_certificate_with_profile(ca, profile_for(ca), signer, days);
}

Result<X509Ptr> create_ca_certificate_with_profile(const Identity& ca, const Profile& profile,
                                                   hsm::Signer& signer, int days) {
  if (ca.role != Role::ca)
    return Error{Errc::internal, "create_ca_certificate needs a CA identity"};
  if (auto r = check_days(days); !r) return r.error();
  EVP_PKEY* pub = signer.public_key();
  if (!pub || !EVP_PKEY_is_a(pub, "EC"))
    return Error{Errc::key_backend, "the CA key " + signer.description() + " is " +
                                        describe_key(pub) + "; the CA profile needs an EC key"};
  std::time_t now = std::time(nullptr);
  auto cert = build_tbs(profile, pub, nullptr, now, now + static_cast<std::time_t>(days) * 86400);
  if (!cert) return std::move(cert).error();
  if (auto r = lint_sign_verify(cert->get(), ca, nullptr, signer, pub); !r) return r.error();
  return cert;
}

Result<Issuer> Issuer::create(X509Ptr ca_cert, std::unique_ptr<hsm::Signer> signer) {
  if (!ca_cert || !signer) return Error{Errc::internal, "Issuer::create: missing input"};
  if (X509_check_ca(ca_cert.get()) == 0 || !(X509_get_key_usage(ca_cert.get()) & KU_KEY_CERT_SIGN))
    return Error{
        Errc::invalid_input,
        "the given CA certificate is not a CA certificate (needs CA:TRUE and keyCertSign)"};
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca_cert.get());
  if (!ca_pub || !EVP_PKEY_is_a(ca_pub, "EC"))
    return Error{Errc::invalid_input, "the CA certificate's key is " + describe_key(ca_pub) +
                                          "; the fabric profiles need an EC CA key"};
  if (!public_keys_equal(signer->public_key(), ca_pub))
    return Error{Errc::key_backend, "the CA key " + signer->description() +
                                        " does not match the CA certificate's public key"};
  auto nb = to_time_t(X509_get0_notBefore(ca_cert.get()));
  auto na = to_time_t(X509_get0_notAfter(ca_cert.get()));
  if (!nb || !na) return Error{Errc::invalid_input, "the CA certificate's validity is unreadable"};
  return Issuer(std::move(ca_cert), std::move(signer), *nb);
}

Result<void> check_validity_within_ca(X509* ca, int days) {
  if (auto r = check_days(days); !r) return r;
  auto ca_not_after = to_time_t(X509_get0_notAfter(ca));
  if (!ca_not_after)
    return Error{Errc::invalid_input, "the CA certificate's validity is unreadable"};
  std::time_t now = std::time(nullptr);
  std::string ca_end = rfc3339(X509_get0_notAfter(ca));
  if (now >= *ca_not_after)
    return Error{Errc::invalid_input, "the CA certificate expired at " + ca_end};
  if (now + static_cast<std::time_t>(days) * 86400 > *ca_not_after) {
    long max_days = static_cast<long>((*ca_not_after - now) / 86400);
    return Error{Errc::invalid_input,
                 "a validity of " + std::to_string(days) +
                     " days would make the certificate outlive the CA certificate, which "
                     "expires at " +
                     ca_end + " (" + std::to_string(max_days) + " days or less fit)"};
  }
  return ok();
}

Result<void> Issuer::check_validity(int days) const {
  return check_validity_within_ca(ca_cert_.get(), days);
}

Result<X509Ptr> Issuer::issue(const Identity& id, EVP_PKEY* subject_key, std::optional<int> days) {
  Profile p = profile_for(id);
  return issue_with_profile(id, p, subject_key, days.value_or(p.default_days));
}

Result<X509Ptr> Issuer::issue_with_profile(const Identity& id, const Profile& profile,
                                           EVP_PKEY* subject_key, int days) {
  if (id.role == Role::ca) return Error{Errc::internal, "Issuer::issue cannot issue a CA"};
  if (profile.not_after) {
    // An absolute end (a peer's grant): in the future and within the CA certificate.
    auto ca_not_after = to_time_t(X509_get0_notAfter(ca_cert_.get()));
    if (!ca_not_after)
      return Error{Errc::invalid_input, "the CA certificate's validity is unreadable"};
    std::time_t now = std::time(nullptr);
    if (now >= *ca_not_after)
      return Error{Errc::invalid_input,
                   "the CA certificate expired at " + rfc3339(X509_get0_notAfter(ca_cert_.get()))};
    if (*profile.not_after <= now)
      return Error{Errc::invalid_input, "the requested notAfter " + utc_text(*profile.not_after) +
                                            " is not in the future"};
    if (*profile.not_after > *ca_not_after)
      return Error{Errc::invalid_input, "the requested notAfter " + utc_text(*profile.not_after) +
                                            " is beyond the CA certificate's notAfter " +
                                            rfc3339(X509_get0_notAfter(ca_cert_.get()))};
  } else if (auto r = check_validity(days); !r) {
    return r.error();
  }
  for (int attempt = 0;; ++attempt) {
    std::time_t now = std::time(nullptr);
    std::time_t nb = std::max(now - kBackdateSeconds, ca_not_before_);
    auto cert = build_tbs(profile, subject_key, ca_cert_.get(), nb,
                          profile.not_after.value_or(now + static_cast<std::time_t>(days) * 86400));
    if (!cert) return std::move(cert).error();
    if (auto r = lint_certificate(cert->get(), id, ca_cert_.get()); !r) return r.error();
    if (before_sign_) {
      if (auto p = presign(cert->get(), X509_get0_pubkey(ca_cert_.get())); !p) return p.error();
      auto hook = before_sign_(cert->get());
      if (!hook && hook.error().code == Errc::exists && attempt < 2) continue;  // a used serial
      if (!hook) return hook.error();
    }
    if (auto r = sign_prepared(cert->get()); !r) return r.error();
    return cert;
  }
}

Result<X509Ptr> Issuer::prepare(const Identity& id, EVP_PKEY* subject_key,
                                std::optional<int> days) {
  if (id.role == Role::ca) return Error{Errc::internal, "Issuer::prepare cannot issue a CA"};
  Profile p = profile_for(id);
  int d = days.value_or(p.default_days);
  if (auto r = check_validity(d); !r) return r.error();
  std::time_t now = std::time(nullptr);
  std::time_t nb = std::max(now - kBackdateSeconds, ca_not_before_);
  auto cert =
      build_tbs(p, subject_key, ca_cert_.get(), nb, now + static_cast<std::time_t>(d) * 86400);
  if (!cert) return std::move(cert).error();
  if (auto r = lint_certificate(cert->get(), id, ca_cert_.get()); !r) return r.error();
  if (auto lint = presign(cert->get(), X509_get0_pubkey(ca_cert_.get())); !lint)
    return lint.error();
  return cert;
}

Result<void> Issuer::sign_prepared(X509* tbs) {
  // The linted TBS: encodable as is when prepare() or the before-sign hook presigned it.
  Result<Bytes> linted = Bytes{};
  unsigned char* before = nullptr;
  int len = i2d_re_X509_tbs(tbs, &before);
  if (len > 0) {
    linted = Bytes(before, before + len);
    OPENSSL_free(before);
  } else {
    drain_ossl_errors();
    linted = presign(tbs, X509_get0_pubkey(ca_cert_.get()));
  }
  if (!linted) return linted.error();
  if (auto r = sign_verify(tbs, *signer_, X509_get0_pubkey(ca_cert_.get())); !r) return r;
  unsigned char* der = nullptr;
  int n = i2d_re_X509_tbs(tbs, &der);
  bool same = n > 0 && static_cast<size_t>(n) == linted->size() &&
              std::equal(linted->begin(), linted->end(), der);
  OPENSSL_free(der);
  if (!same)
    return Error{Errc::crypto,
                 "the signed certificate's TBS differs from the linted one; nothing was written"};
  return ok();
}

}  // namespace grafos::pki
