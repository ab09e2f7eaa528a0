#include "pki/crl.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <set>

#include "util/file_io.hpp"

namespace grafos::pki {
namespace {

Result<Asn1IntegerPtr> serial_from_hex(const std::string& hex) {
  BIGNUM* bn = nullptr;
  if (hex.empty() || BN_hex2bn(&bn, hex.c_str()) != static_cast<int>(hex.size()))
    return make_error(Errc::invalid_input, "ledger serial '" + hex + "' is not hex");
  BignumPtr owned(bn);
  Asn1IntegerPtr out(BN_to_ASN1_INTEGER(bn, nullptr));
  if (!out) return ossl_error(Errc::crypto, "encoding serial " + hex);
  return out;
}

Result<void> add_entry(X509_CRL* crl, const LedgerEntry& e) {
  X509RevokedPtr r(X509_REVOKED_new());
  if (!r) return ossl_error(Errc::crypto, "allocating a CRL entry");
  auto serial = serial_from_hex(e.serial);
  if (!serial) return serial.error();
  Asn1TimePtr when(ASN1_TIME_new());
  // A reserved row (possibly issued by a run that crashed) is listed from when it was reserved.
  std::int64_t at = e.revoked_at.value_or(e.reserved_at);
  if (!when || !ASN1_TIME_set(when.get(), static_cast<time_t>(at)) ||
      X509_REVOKED_set_serialNumber(r.get(), serial->get()) != 1 ||
      X509_REVOKED_set_revocationDate(r.get(), when.get()) != 1)
    return ossl_error(Errc::crypto, "filling the CRL entry of " + e.serial);
  // RFC 5280 5.3.1: reasonCode absent rather than unspecified.
  auto reason = e.reason.value_or(RevocationReason::unspecified);
  if (reason != RevocationReason::unspecified) {
    ASN1_ENUMERATED* code = ASN1_ENUMERATED_new();
    bool ok = code && ASN1_ENUMERATED_set(code, static_cast<long>(reason)) == 1 &&
              X509_REVOKED_add1_ext_i2d(r.get(), NID_crl_reason, code, 0, 0) == 1;
    ASN1_ENUMERATED_free(code);
    if (!ok) return ossl_error(Errc::crypto, "adding the reason code of " + e.serial);
  }
  if (e.invalidity_date) {
    Asn1TimePtr inv(ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(*e.invalidity_date)));
    if (!inv || X509_REVOKED_add1_ext_i2d(r.get(), NID_invalidity_date, inv.get(), 0, 0) != 1)
      return ossl_error(Errc::crypto, "adding the invalidity date of " + e.serial);
  }
  if (X509_CRL_add0_revoked(crl, r.get()) != 1)
    return ossl_error(Errc::crypto, "adding the CRL entry of " + e.serial);
  r.release();
  return ok();
}

Result<void> lint_crl_request(const CrlRequest& req) {
  auto refuse = [](const std::string& why) { return make_error(Errc::policy, "CRL lint: " + why); };
  if (!req.ca) return refuse("no CA certificate");
  if (X509_get_ext_by_NID(req.ca, NID_subject_key_identifier, -1) < 0 ||
      !X509_get0_subject_key_id(req.ca))
    return refuse("the CA certificate has no subject key identifier for the CRL's AKI");
  if (!(X509_get_key_usage(req.ca) & KU_CRL_SIGN))
    return refuse("the CA certificate's key usage does not include cRLSign");
  if (req.crl_number < 1) return refuse("the CRL number must be positive");
  if (req.next_update <= req.this_update) return refuse("nextUpdate must be after thisUpdate");
  time_t tu = static_cast<time_t>(req.this_update);
  time_t nu = static_cast<time_t>(req.next_update);
  if (X509_cmp_time(X509_get0_notBefore(req.ca), &tu) > 0)
    return refuse("thisUpdate is before the CA certificate's notBefore");
  if (X509_cmp_time(X509_get0_notAfter(req.ca), &nu) < 0)
    return refuse("nextUpdate is after the CA certificate expires (" +
                  std::string("give fewer days") + ")");
  std::set<std::string> seen;
  for (auto& e : req.revoked) {
    if (e.role == "ca") return refuse("serial " + e.serial + " is the CA itself");
    if (!seen.insert(e.serial).second) return refuse("serial " + e.serial + " is listed twice");
    if (e.state == CertState::issued) return refuse("serial " + e.serial + " is not revoked");
  }
  return ok();
}

}  // namespace

Result<X509CrlPtr> build_crl(const CrlRequest& req, hsm::Signer& signer) {
  if (auto l = lint_crl_request(req); !l) return l.error();
  if (!public_keys_equal(signer.public_key(), X509_get0_pubkey(req.ca)))
    return make_error(Errc::key_backend, "the CA key does not match the CA certificate (" +
                                             signer.description() + ")");
  X509CrlPtr crl(X509_CRL_new());
  if (!crl) return ossl_error(Errc::crypto, "allocating a CRL");
  Asn1TimePtr tu(ASN1_TIME_new()), nu(ASN1_TIME_new());
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(req.ca)) != 1 || !tu || !nu ||
      !ASN1_TIME_set(tu.get(), static_cast<time_t>(req.this_update)) ||
      !ASN1_TIME_set(nu.get(), static_cast<time_t>(req.next_update)) ||
      X509_CRL_set1_lastUpdate(crl.get(), tu.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), nu.get()) != 1)
    return ossl_error(Errc::crypto, "filling the CRL");
  // AKI keyid from the CA's SKI, and the CRL number (both non-critical, RFC 5280 5.2.1, 5.2.3).
  AUTHORITY_KEYID* aki = AUTHORITY_KEYID_new();
  bool ok_aki = aki && (aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(req.ca))) &&
                X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, aki, 0, 0) == 1;
  AUTHORITY_KEYID_free(aki);
  if (!ok_aki) return ossl_error(Errc::crypto, "adding the CRL's authority key identifier");
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), req.crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    return ossl_error(Errc::crypto, "adding the CRL number");
  for (auto& e : req.revoked)
    if (auto r = add_entry(crl.get(), e); !r) return r.error();
  if (X509_CRL_sort(crl.get()) != 1) return ossl_error(Errc::crypto, "sorting the CRL");
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return ossl_error(Errc::crypto, "allocating a signing context");
  if (auto r = signer.init_digest_sign(ctx.get()); !r) return r.error();
  if (X509_CRL_sign_ctx(crl.get(), ctx.get()) <= 0) return signer.signing_error("signing the CRL");
  // Verify before release: a faulty HSM must not produce a CRL that relying parties refuse.
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(req.ca)) != 1) {
    drain_ossl_errors();
    return make_error(Errc::crypto,
                      "the CRL signature does not verify with the CA certificate (the key "
                      "backend returned a bad signature; nothing was written)");
  }
  return crl;
}

Result<std::string> crl_to_pem(X509_CRL* crl) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1)
    return ossl_error(Errc::crypto, "encoding the CRL as PEM");
  return bio_to_string(bio.get());
}

Result<X509CrlPtr> read_crl(const std::string& path, X509* ca) {
  auto data = read_file(path, 256u * 1024 * 1024);
  if (!data) return std::move(data).error();
  BioPtr bio(BIO_new_mem_buf(data->data(), static_cast<int>(data->size())));
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) {
    drain_ossl_errors();
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data->data());
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(data->size())));
  }
  if (!crl) return ossl_error(Errc::invalid_input, "CRL " + path + " is neither PEM nor DER");
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca)) != 0 ||
      X509_CRL_verify(crl.get(), X509_get0_pubkey(ca)) != 1) {
    drain_ossl_errors();
    return make_error(Errc::mismatch, "CRL " + path + " was not signed by this CA");
  }
  return crl;
}

}  // namespace grafos::pki
