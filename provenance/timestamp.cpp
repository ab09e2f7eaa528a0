#include "provenance/timestamp.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <set>

#include "provenance/record.hpp"
#include "util/base64.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"
#include "util/ossl_ts.hpp"
#include "util/text.hpp"

namespace grafos::provenance {

using nlohmann::json;

namespace {

Error bad(std::string message) { return Error{Errc::invalid_input, std::move(message)}; }
Error refused(std::string message) { return Error{Errc::mismatch, std::move(message)}; }

const unsigned char* uchars(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string subject_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  return bio_to_string(bio.get());
}

std::string utc_text(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::time_t> to_time_t(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    drain_ossl_errors();
    return bad("a time field does not parse");
  }
  return timegm(&tm);
}

Result<Pkcs7Ptr> parse_token(std::string_view der) {
  const unsigned char* p = uchars(der);
  Pkcs7Ptr token(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!token || p != uchars(der) + der.size()) {
    drain_ossl_errors();
    return bad("the timestamp token is not one DER CMS ContentInfo");
  }
  if (!PKCS7_type_is_signed(token.get())) return bad("the timestamp token is not CMS SignedData");
  return token;
}

Result<TsTstInfoPtr> tst_info_of(PKCS7* token) {
  TsTstInfoPtr info(PKCS7_to_TS_TST_INFO(token));
  if (!info) {
    drain_ossl_errors();
    return bad("the timestamp token holds no RFC 3161 TSTInfo");
  }
  return info;
}

// The one DSSE signature of the bundle, base64-decoded.
Result<Bytes> bundle_signature(const json& bundle) {
  if (!bundle.is_object()) return bad("bundle: not a JSON object");
  auto env = bundle.find("dsseEnvelope");
  if (env == bundle.end() || !env->is_object()) return bad("bundle: dsseEnvelope is missing");
  auto sigs = env->find("signatures");
  if (sigs == env->end() || !sigs->is_array() || sigs->size() != 1)
    return bad("bundle: dsseEnvelope must hold exactly one signature to be timestamped");
  const json& s = (*sigs)[0];
  if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string())
    return bad("bundle: dsseEnvelope.signatures[0].sig is missing or not a string");
  auto sig = base64_decode(s["sig"].get<std::string>());
  if (!sig) return std::move(sig).error().context("bundle: signature");
  if (sig->empty()) return bad("bundle: the DSSE signature is empty");
  return std::move(*sig);
}

Result<std::vector<X509Ptr>> read_pem_certs(const std::string& pem, const std::string& name) {
  std::vector<X509Ptr> out;
  if (pem.empty()) return out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  for (;;) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!c) break;
    out.emplace_back(c);
  }
  drain_ossl_errors();
  if (out.empty()) return bad(name + " holds no PEM certificate");
  return out;
}

}  // namespace

Result<void> check_tsa_profile(X509* cert) {
  std::string subject = subject_of(cert);
  int idx = X509_get_ext_by_NID(cert, NID_ext_key_usage, -1);
  if (idx < 0 || (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) == 0)
    return refused("the timestamp's signer '" + subject +
                   "' is not a time-stamping authority (no extended key usage)");
  if (X509_get_extended_key_usage(cert) != XKU_TIMESTAMP)
    return refused("the timestamp's signer '" + subject +
                   "' is not a time-stamping authority (its extended key usage is not "
                   "timeStamping alone)");
  if (X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) != 1)
    return refused("the timestamp's signer '" + subject +
                   "' is not a time-stamping authority (its extended key usage is not critical)");
  return ok();
}

Result<std::string> timestamp_imprint(const json& bundle) {
  auto sig = bundle_signature(bundle);
  if (!sig) return std::move(sig).error();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(sig->data(), sig->size(), md, &len, EVP_sha256(), nullptr) != 1)
    return ossl_error(Errc::crypto, "hashing the DSSE signature");
  return std::string(reinterpret_cast<const char*>(md), len);
}

Result<std::string> timestamp_imprint(std::string_view bundle_text) {
  auto doc = parse_json_strict(bundle_text);
  if (!doc) return std::move(doc).error();
  return timestamp_imprint(*doc);
}

Result<std::string> token_from_response(std::string_view response_der) {
  const unsigned char* p = uchars(response_der);
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(response_der.size())));
  if (!resp || p != uchars(response_der) + response_der.size()) {
    drain_ossl_errors();
    return bad("the timestamp reply is not one DER TimeStampResp");
  }
  TS_STATUS_INFO* st = TS_RESP_get_status_info(resp.get());
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(st));
  if (status != TS_STATUS_GRANTED && status != TS_STATUS_GRANTED_WITH_MODS)
    return bad("the timestamp authority refused the request (PKIStatus " + std::to_string(status) +
               ")");
  PKCS7* token = TS_RESP_get_token(resp.get());
  if (token == nullptr) return bad("the timestamp reply carries no token");
  unsigned char* der = nullptr;
  int len = i2d_PKCS7(token, &der);
  if (len <= 0) return ossl_error(Errc::crypto, "encoding the timestamp token");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

namespace {

bool is_response(std::string_view der) {
  const unsigned char* p = uchars(der);
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size())));
  bool whole = resp && p == uchars(der) + der.size();
  drain_ossl_errors();
  return whole;
}

// The DER TimeStampToken of a TimeStampResp or of a bare token.
Result<std::string> token_of(std::string_view der) {
  if (is_response(der)) return token_from_response(der);
  if (auto t = parse_token(der); !t) return std::move(t).error();
  return std::string(der);
}

// A granted DER TimeStampResp: `der` itself, or a bare token wrapped as one (status granted).
Result<std::string> response_of(std::string_view der) {
  if (is_response(der)) {
    if (auto t = token_from_response(der); !t) return std::move(t).error();
    return std::string(der);
  }
  auto token = parse_token(der);
  if (!token) return bad("the timestamp is neither a DER TimeStampResp nor a DER TimeStampToken");
  auto info = tst_info_of(token->get());
  if (!info) return std::move(info).error();
  TsRespPtr resp(TS_RESP_new());
  std::unique_ptr<TS_STATUS_INFO, OsslDeleter<TS_STATUS_INFO_free>> st(TS_STATUS_INFO_new());
  if (!resp || !st || TS_STATUS_INFO_set_status(st.get(), TS_STATUS_GRANTED) != 1 ||
      TS_RESP_set_status_info(resp.get(), st.get()) != 1)
    return ossl_error(Errc::crypto, "building the timestamp reply");
  // TS_RESP_set_tst_info takes ownership of both.
  TS_RESP_set_tst_info(resp.get(), token->release(), info->release());
  unsigned char* out = nullptr;
  int len = i2d_TS_RESP(resp.get(), &out);
  if (len <= 0) return ossl_error(Errc::crypto, "encoding the timestamp reply");
  std::string text(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return text;
}

}  // namespace

Result<void> attach_timestamp(json& bundle, std::string_view token_or_response) {
  auto response = response_of(token_or_response);
  if (!response) return std::move(response).error();
  auto token_der = token_of(*response);
  if (!token_der) return std::move(token_der).error();
  auto token = parse_token(*token_der);
  if (!token) return std::move(token).error();
  auto info = tst_info_of(token->get());
  if (!info) return std::move(info).error();
  auto imprint = timestamp_imprint(bundle);
  if (!imprint) return std::move(imprint).error();
  TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(info->get());
  ASN1_OCTET_STRING* msg = TS_MSG_IMPRINT_get_msg(mi);
  std::string got(reinterpret_cast<const char*>(ASN1_STRING_get0_data(msg)),
                  static_cast<size_t>(ASN1_STRING_length(msg)));
  if (got != *imprint)
    return bad("the timestamp is over other bytes than the bundle's DSSE signature");
  auto existing = bundle_timestamps(bundle);
  if (!existing) return std::move(existing).error();
  for (const auto& e : *existing) {
    auto t = token_of(e);
    if (t && *t == *token_der) return bad("the bundle already holds this timestamp");
  }
  json& vm = bundle["verificationMaterial"];
  if (!vm.is_object()) return bad("bundle: verificationMaterial is missing");
  json& tvd = vm["timestampVerificationData"];
  if (tvd.is_null()) tvd = json::object();
  json& list = tvd["rfc3161Timestamps"];
  if (list.is_null()) list = json::array();
  list.push_back({{"signedTimestamp", base64_encode(*response)}});
  return ok();
}

Result<std::string> attach_timestamp(std::string_view bundle_text, std::string_view token_der) {
  auto doc = parse_json_strict(bundle_text);
  if (!doc) return std::move(doc).error();
  if (auto r = attach_timestamp(*doc, token_der); !r) return std::move(r).error();
  return to_canonical_json(*doc);
}

Result<std::vector<std::string>> bundle_timestamps(const json& bundle) {
  std::vector<std::string> out;
  if (!bundle.is_object()) return bad("bundle: not a JSON object");
  auto vm = bundle.find("verificationMaterial");
  if (vm == bundle.end() || !vm->is_object()) return out;
  auto tvd = vm->find("timestampVerificationData");
  if (tvd == vm->end()) return out;
  if (!tvd->is_object())
    return bad("bundle: verificationMaterial.timestampVerificationData is not an object");
  for (auto it = tvd->begin(); it != tvd->end(); ++it)
    if (it.key() != "rfc3161Timestamps")
      return bad("bundle: unexpected field \"" + it.key() +
                 "\" in verificationMaterial.timestampVerificationData");
  auto list = tvd->find("rfc3161Timestamps");
  if (list == tvd->end()) return out;
  if (!list->is_array()) return bad("bundle: rfc3161Timestamps is not an array");
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    std::string where = "rfc3161Timestamps[" + std::to_string(i) + "]";
    if (!e.is_object() || e.size() != 1 || !e.contains("signedTimestamp") ||
        !e["signedTimestamp"].is_string())
      return bad("bundle: " + where + " is not {\"signedTimestamp\": base64}");
    auto der = base64_decode(e["signedTimestamp"].get<std::string>());
    if (!der) return std::move(der).error().context("bundle: " + where);
    std::string s(der->begin(), der->end());
    if (!seen.insert(s).second)
      return refused("bundle: " + where + " duplicates an earlier timestamp token");
    out.push_back(std::move(s));
  }
  return out;
}

Result<TimestampInfo> check_timestamp_token(std::string_view der, std::string_view imprint,
                                            const TimestampCheckOptions& opt) {
  auto token_der = token_of(der);
  if (!token_der) return std::move(token_der).error();
  auto token = parse_token(*token_der);
  if (!token) return std::move(token).error();
  auto info = tst_info_of(token->get());
  if (!info) return std::move(info).error();
  TimestampInfo out;
  auto gen = to_time_t(TS_TST_INFO_get_time(info->get()));
  if (!gen) return std::move(gen).error().context("timestamp genTime");
  out.gen_time = *gen;
  {
    BignumPtr bn(ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(info->get()), nullptr));
    if (bn) {
      char* hex = BN_bn2hex(bn.get());
      if (hex) out.serial = hex;
      OPENSSL_free(hex);
    }
    char oid[128] = {0};
    OBJ_obj2txt(oid, sizeof oid, TS_TST_INFO_get_policy_id(info->get()), 1);
    out.policy = oid;
  }

  // The imprint: SHA-256 over the bundle's signature bytes.
  TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(info->get());
  X509_ALGOR* algo = TS_MSG_IMPRINT_get_algo(mi);
  const ASN1_OBJECT* aobj = nullptr;
  X509_ALGOR_get0(&aobj, nullptr, nullptr, algo);
  if (OBJ_obj2nid(aobj) != NID_sha256)
    return refused("the timestamp's message imprint is not SHA-256");
  ASN1_OCTET_STRING* msg = TS_MSG_IMPRINT_get_msg(mi);
  if (std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(msg)),
                       static_cast<size_t>(ASN1_STRING_length(msg))) != imprint)
    return refused("the timestamp is over other bytes than the bundle's DSSE signature");

  // The TSA certificate: from the token, or from the offered intermediates.
  auto anchors = read_pem_certs(opt.anchors_pem, opt.anchors_name);
  if (!anchors) return std::move(anchors).error();
  auto extra = read_pem_certs(opt.intermediates_pem, "the TSA intermediates");
  if (!extra) return std::move(extra).error();
  X509StackPtr untrusted(sk_X509_new_null());
  X509StorePtr store(X509_STORE_new());
  if (!untrusted || !store) return ossl_error(Errc::crypto, "allocating the certificate store");
  bool any_ca = false;
  for (auto& a : *anchors) {
    // CA certificates are anchors; a leaf in the same file (the TSA's own) is only offered.
    if (X509_check_ca(a.get()) >= 1) {
      any_ca = true;
      if (X509_STORE_add_cert(store.get(), a.get()) != 1)
        return ossl_error(Errc::crypto, "adding " + opt.anchors_name + " to the store");
    } else {
      X509_up_ref(a.get());
      sk_X509_push(untrusted.get(), a.get());
    }
  }
  if (!any_ca) return bad(opt.anchors_name + " holds no CA certificate");
  for (auto& c : *extra) {
    X509_up_ref(c.get());
    sk_X509_push(untrusted.get(), c.get());
  }
  STACK_OF(X509)* signers = PKCS7_get0_signers(token->get(), untrusted.get(), 0);
  if (signers == nullptr || sk_X509_num(signers) != 1) {
    sk_X509_free(signers);
    drain_ossl_errors();
    return refused("the timestamp's signing certificate is neither in the token nor in " +
                   opt.anchors_name);
  }
  X509* tsa = sk_X509_value(signers, 0);
  X509_up_ref(tsa);
  X509Ptr tsa_cert(tsa);
  sk_X509_free(signers);
  out.tsa_subject = subject_of(tsa);
  if (auto r = check_tsa_profile(tsa); !r) return std::move(r).error();

  // The TSA chain, at genTime (the TSA certificate may have expired since).
  STACK_OF(X509)* token_certs = token->get()->d.sign->cert;
  for (int i = 0; token_certs && i < sk_X509_num(token_certs); ++i) {
    X509* c = sk_X509_value(token_certs, i);
    X509_up_ref(c);
    sk_X509_push(untrusted.get(), c);
  }
  {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), tsa, untrusted.get()) != 1)
      return ossl_error(Errc::crypto, "initialising certificate verification");
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_set_time(param, out.gen_time);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_TIMESTAMP_SIGN);
    int rc = X509_verify_cert(ctx.get());
    int err = X509_STORE_CTX_get_error(ctx.get());
    drain_ossl_errors();
    if (rc != 1)
      return refused("the timestamp's authority '" + out.tsa_subject + "' is not trusted: " +
                     "its certificate does not chain to " + opt.anchors_name + " at " +
                     utc_text(out.gen_time) + " (" + X509_verify_cert_error_string(err) + ")");
  }

  // The CMS signature, the ESS signing-certificate binding and the imprint, by OpenSSL's TS API.
  TsVerifyCtxPtr vctx(TS_VERIFY_CTX_new());
  if (!vctx) return ossl_error(Errc::crypto, "allocating the timestamp verifier");
  X509_STORE_up_ref(store.get());
  X509_VERIFY_PARAM* sp = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(sp, out.gen_time);
  TS_VERIFY_CTX_set_store(vctx.get(), store.get());
  TS_VERIFY_CTX_set_certs(vctx.get(), untrusted.release());
  auto* buf = static_cast<unsigned char*>(OPENSSL_malloc(imprint.size()));
  if (!buf) return ossl_error(Errc::crypto, "allocating the imprint");
  std::memcpy(buf, imprint.data(), imprint.size());
  TS_VERIFY_CTX_set_imprint(vctx.get(), buf, static_cast<long>(imprint.size()));
  TS_VERIFY_CTX_set_flags(vctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
  if (TS_RESP_verify_token(vctx.get(), token->get()) != 1) {
    std::string why = drain_ossl_errors();
    return refused("the timestamp's signature by '" + out.tsa_subject + "' does not verify" +
                   (why.empty() ? "" : ": " + why));
  }
  return out;
}

std::string timestamp_text(std::time_t t) { return utc_text(t); }

Result<void> check_signed_within_validity(X509* signer, const TimestampInfo& ts) {
  auto nb = to_time_t(X509_get0_notBefore(signer));
  if (!nb) return std::move(nb).error().context("signer notBefore");
  auto na = to_time_t(X509_get0_notAfter(signer));
  if (!na) return std::move(na).error().context("signer notAfter");
  if (ts.gen_time < *nb || ts.gen_time > *na)
    return refused("the timestamp's time " + utc_text(ts.gen_time) +
                   " is outside the signer certificate's validity (" + utc_text(*nb) + " to " +
                   utc_text(*na) + ")");
  return ok();
}

Result<void> check_not_revoked_before(X509* signer, const std::string& ca_pem,
                                      const std::string& crl_text, const TimestampInfo& ts,
                                      const std::string& ca_name) {
  BioPtr bio(BIO_new_mem_buf(crl_text.data(), static_cast<int>(crl_text.size())));
  X509CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl) {
    drain_ossl_errors();
    const unsigned char* p = uchars(crl_text);
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_text.size())));
  }
  if (!crl) return ossl_error(Errc::invalid_input, "the CRL is neither PEM nor DER");
  auto cas = read_pem_certs(ca_pem, ca_name);
  if (!cas) return std::move(cas).error();
  X509* issuer = nullptr;
  for (auto& c : *cas)
    if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_CRL_get_issuer(crl.get())) == 0 &&
        X509_CRL_verify(crl.get(), X509_get0_pubkey(c.get())) == 1)
      issuer = c.get();
  drain_ossl_errors();
  if (issuer == nullptr) return refused("the CRL is not signed by " + ca_name);
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  if (next == nullptr || X509_cmp_current_time(next) <= 0)
    return refused("the CRL of " + ca_name + " is past its nextUpdate: fetch a fresh one");
  if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(issuer)) != 0) return ok();
  X509_REVOKED* rev = nullptr;
  if (X509_CRL_get0_by_cert(crl.get(), &rev, signer) == 1 && rev != nullptr) {
    auto when = to_time_t(X509_REVOKED_get0_revocationDate(rev));
    if (!when) return std::move(when).error().context("CRL revocationDate");
    if (*when <= ts.gen_time)
      return refused("signer certificate was revoked at " + utc_text(*when) + " (CRL of " +
                     ca_name + "), before the timestamp's time " + utc_text(ts.gen_time));
  }
  drain_ossl_errors();
  return ok();
}

Result<std::vector<TimestampInfo>> check_bundle_timestamps(const json& bundle,
                                                           const TimestampCheckOptions& opt) {
  auto tokens = bundle_timestamps(bundle);
  if (!tokens) return std::move(tokens).error();
  std::vector<TimestampInfo> out;
  if (tokens->empty()) return out;
  auto imprint = timestamp_imprint(bundle);
  if (!imprint) return std::move(imprint).error();
  std::set<std::pair<std::string, std::string>> serials;
  for (size_t i = 0; i < tokens->size(); ++i) {
    auto info = check_timestamp_token((*tokens)[i], *imprint, opt);
    if (!info) return std::move(info).error().context("bundle: timestamp " + std::to_string(i + 1));
    if (!serials.insert({info->tsa_subject, info->serial}).second)
      return refused("bundle: timestamp " + std::to_string(i + 1) +
                     " duplicates an earlier one (same authority and serial number)");
    out.push_back(std::move(*info));
  }
  return out;
}

}  // namespace grafos::provenance
