#include "admin/timestamp.hpp"

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <vector>

#include "admin/client.hpp"
#include "hsm/load_key.hpp"
#include "provenance/timestamp.hpp"
#include "util/file_io.hpp"
#include "util/ossl.hpp"
#include "util/ossl_ts.hpp"

namespace grafos::admin {
namespace {

constexpr size_t kMaxReply = 1u << 20;  // a reply with a long chain is a few KiB

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};
struct CurluFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// The scheme of `url` ("http", "https"), parsed by libcurl; Errc::usage when it is no URL.
Result<std::string> url_scheme(const std::string& url) {
  std::unique_ptr<CURLU, CurluFree> u(curl_url());
  if (!u) return make_error(Errc::internal, "curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return make_error(Errc::usage, "TSA URL '" + url + "' is not a valid URL");
  char* scheme = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme)
    return make_error(Errc::usage, "TSA URL '" + url + "' has no scheme");
  std::string s(scheme);
  curl_free(scheme);
  if (s != "http" && s != "https")
    return make_error(Errc::usage,
                      "TSA URL '" + url + "' uses " + s + "://: use http:// or https://");
  return s;
}

// The DER TimeStampReq and the nonce it carries.
struct Query {
  TsReqPtr req;
  std::string der;
};

Result<Query> build_query(const std::string& imprint) {
  Query q;
  q.req.reset(TS_REQ_new());
  TsMsgImprintPtr mi(TS_MSG_IMPRINT_new());
  X509AlgorPtr algo(X509_ALGOR_new());
  if (!q.req || !mi || !algo) return ossl_error(Errc::crypto, "allocating the timestamp query");
  bool ok = TS_REQ_set_version(q.req.get(), 1) == 1 &&
            X509_ALGOR_set0(algo.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr) == 1 &&
            TS_MSG_IMPRINT_set_algo(mi.get(), algo.get()) == 1 &&
            TS_MSG_IMPRINT_set_msg(
                mi.get(), reinterpret_cast<unsigned char*>(const_cast<char*>(imprint.data())),
                static_cast<int>(imprint.size())) == 1 &&
            TS_REQ_set_msg_imprint(q.req.get(), mi.get()) == 1;
  // A 64-bit random nonce (RFC 3161 2.4.1: "a large random number with a high probability that
  // the client generates it only once").
  BignumPtr bn(BN_new());
  ok = ok && bn && BN_rand(bn.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1;
  Asn1IntegerPtr nonce(ok ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  ok = ok && nonce && TS_REQ_set_nonce(q.req.get(), nonce.get()) == 1 &&
       TS_REQ_set_cert_req(q.req.get(), 1) == 1;
  if (!ok) return ossl_error(Errc::crypto, "building the timestamp query");
  unsigned char* der = nullptr;
  int len = i2d_TS_REQ(q.req.get(), &der);
  if (len <= 0) return ossl_error(Errc::crypto, "encoding the timestamp query");
  q.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return q;
}

// The client identity for an https:// TSA (the fabric's own TSA asks for one).
struct Identity {
  X509Ptr cert;
  std::vector<X509Ptr> chain;
  hsm::LoadedKey key;
  std::string error;
};

Result<void> load_identity(const TimestampRequest& r, Identity& id) {
  BioPtr bio(BIO_new_file(r.cert.c_str(), "r"));
  if (!bio) {
    drain_ossl_errors();
    return make_error(Errc::file_missing, "cannot read the client certificate '" + r.cert + "'");
  }
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (!id.cert)
      id.cert.reset(x);
    else
      id.chain.emplace_back(x);
  }
  drain_ossl_errors();
  if (!id.cert) return make_error(Errc::invalid_input, "'" + r.cert + "' holds no PEM certificate");
  auto key = hsm::load_key({.ref = r.key,
                            .certificate = id.cert.get(),
                            .certificate_name = "the certificate '" + r.cert + "'",
                            .interaction = r.interaction,
                            .certificate_path = {}});
  if (!key) return std::move(key).error();
  id.key = std::move(*key);
  return ok();
}

CURLcode install_identity(CURL*, void* ssl_ctx, void* user) {
  auto* id = static_cast<Identity*>(user);
  STACK_OF(X509)* extra = sk_X509_new_null();
  for (auto& c : id->chain) sk_X509_push(extra, c.get());
  int rc = SSL_CTX_use_cert_and_key(static_cast<SSL_CTX*>(ssl_ctx), id->cert.get(),
                                    id->key.private_key.get(), extra, 1);
  sk_X509_free(extra);
  if (rc != 1) {
    id->error = "installing the client certificate and key: " + drain_ossl_errors();
    return CURLE_SSL_CERTPROBLEM;
  }
  return CURLE_OK;
}

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * n > kMaxReply) return 0;  // too large: CURLE_WRITE_ERROR
  out->append(data, size * n);
  return size * n;
}

struct HttpAnswer {
  long status = 0;
  std::string content_type;
  std::string body;
};

Result<HttpAnswer> post_query(const TimestampRequest& r, bool https, const std::string& der,
                              Identity* id) {
  std::unique_ptr<CURL, CurlFree> h(curl_easy_init());
  if (!h) return make_error(Errc::internal, "curl_easy_init failed");
  CURL* c = h.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  HttpAnswer a;
  std::unique_ptr<curl_slist, SlistFree> headers;
  for (const char* hdr : {"Content-Type: application/timestamp-query",
                          "Accept: application/timestamp-reply", "Expect:"})
    headers.reset(curl_slist_append(headers.release(), hdr));
  curl_easy_setopt(c, CURLOPT_URL, r.tsa_url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r.timeout_ms);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "grafos-admin");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, der.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(der.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  if (https) {
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CAINFO, r.ca.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
    if (id) {
      curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, install_identity);
      curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, id);
    }
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string text = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    const std::string where = "the TSA " + r.tsa_url;
    switch (rc) {
      case CURLE_PEER_FAILED_VERIFICATION:
        return make_error(Errc::tls, "TLS verification of " + where + " failed: " + text);
      case CURLE_SSL_CERTPROBLEM:
        return make_error(Errc::key_backend, id && !id->error.empty()
                                                 ? id->error
                                                 : "client certificate problem: " + text);
      case CURLE_SSL_CONNECT_ERROR:
        return make_error(Errc::tls, "TLS handshake with " + where + " failed: " + text);
      case CURLE_WRITE_ERROR:
        return make_error(Errc::network, "the answer of " + where + " is larger than " +
                                             std::to_string(kMaxReply) + " bytes");
      case CURLE_OPERATION_TIMEDOUT:
        return make_error(Errc::network, "timed out talking to " + where + " (" + text + ")");
      default:
        return make_error(Errc::network, "request to " + where + " failed: " + text);
    }
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) a.content_type = ct;
  return a;
}

// The media type of a Content-Type value, lowercased, without parameters.
std::string media_type(std::string v) {
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return v;
}

std::string status_text(TS_RESP* resp) {
  TS_STATUS_INFO* si = TS_RESP_get_status_info(resp);
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
  static constexpr const char* kNames[] = {"granted",           "grantedWithMods",
                                           "rejection",         "waiting",
                                           "revocationWarning", "revocationNotification"};
  std::string out =
      status >= 0 && status <= 5 ? kNames[status] : "status " + std::to_string(status);
  if (const auto* texts = TS_STATUS_INFO_get0_text(si))
    for (int i = 0; i < sk_ASN1_UTF8STRING_num(texts); ++i) {
      const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(texts, i);
      std::string t(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                    static_cast<size_t>(std::min(ASN1_STRING_length(s), 200)));
      for (auto& ch : t)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
      out += ": " + t;
    }
  if (const ASN1_BIT_STRING* fi = TS_STATUS_INFO_get0_failure_info(si)) {
    for (auto name : ts_failure_names(fi)) out += " (" + std::string(name) + ")";
  }
  return out;
}

// Verifies `resp` against the query (version, nonce, imprint), its signature and the TSA chain to
// the anchors; returns what the token says.
Result<TimestampOutcome> verify_reply(TS_REQ* req, TS_RESP* resp, const std::string& anchors) {
  TsVerifyCtxPtr vctx(TS_REQ_to_TS_VERIFY_CTX(req, nullptr));
  if (!vctx) return ossl_error(Errc::crypto, "setting up the timestamp verification");
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_load_file(store.get(), anchors.c_str()) != 1) {
    drain_ossl_errors();
    return make_error(Errc::io, "cannot load the TSA trust anchors from '" + anchors + "'");
  }
  TS_VERIFY_CTX_add_flags(vctx.get(), TS_VFY_SIGNATURE);
  // The context owns the store from here (TS_VERIFY_CTX_free frees it).
  TS_VERIFY_CTX_set_store(vctx.get(), store.release());
  if (TS_RESP_verify_response(vctx.get(), resp) != 1) {
    std::string why = drain_ossl_errors();
    return make_error(Errc::mismatch,
                      "the timestamp reply does not verify (nonce, imprint, signature or the TSA "
                      "certificate's chain to '" +
                          anchors + "'): " + (why.empty() ? "no detail" : why));
  }
  TimestampOutcome out;
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp);
  struct tm tm {};
  if (ASN1_TIME_to_tm(TS_TST_INFO_get_time(info), &tm) == 1) out.gen_time = timegm(&tm);
  BignumPtr serial(ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(info), nullptr));
  if (serial) {
    char* hex = BN_bn2hex(serial.get());
    if (hex) out.serial = hex;
    OPENSSL_free(hex);
  }
  if (STACK_OF(X509)* signers = PKCS7_get0_signers(TS_RESP_get_token(resp), nullptr, 0)) {
    if (sk_X509_num(signers) > 0) {
      char buf[256] = {};
      X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), buf, sizeof buf);
      out.tsa_subject = buf;
    }
    sk_X509_free(signers);
  }
  drain_ossl_errors();
  return out;
}

}  // namespace

Result<TimestampOutcome> timestamp_bundle(const TimestampRequest& r) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto scheme = url_scheme(r.tsa_url);
  if (!scheme) return std::move(scheme).error();
  const bool https = *scheme == "https";
  const std::string anchors = r.tsa_ca.empty() ? r.ca : r.tsa_ca;
  if (anchors.empty())
    return make_error(
        Errc::usage, "no trust anchor for the TSA certificate: give the fabric CA or the TSA's CA");
  if (https && r.ca.empty())
    return make_error(Errc::usage, "an https:// TSA needs the CA that issued its certificate");
  if (r.cert.empty() != r.key.empty())
    return make_error(Errc::usage, "a client certificate needs its key, and a key its certificate");
  for (const auto* f : {&anchors, &r.ca})
    if (!f->empty() && !std::filesystem::is_regular_file(*f))
      return make_error(Errc::file_missing, "'" + *f + "' is not a readable file");
  const std::string out_path = r.output.empty() ? r.input : r.output;
  if (!r.output.empty() && !r.force &&
      std::filesystem::symlink_status(r.output).type() != std::filesystem::file_type::not_found)
    return make_error(Errc::exists, "'" + r.output + "' exists and is not replaced");

  auto text = read_file(r.input);
  if (!text) return std::move(text).error();
  auto imprint = provenance::timestamp_imprint(std::string_view(*text));
  if (!imprint) return std::move(imprint).error().context("'" + r.input + "'");
  auto query = build_query(*imprint);
  if (!query) return std::move(query).error();

  std::unique_ptr<Identity> id;
  if (!r.cert.empty()) {
    id = std::make_unique<Identity>();
    if (auto l = load_identity(r, *id); !l) return std::move(l).error();
  }
  if (!https && id)
    return make_error(Errc::usage, "a client certificate needs an https:// TSA URL");
  auto answer = post_query(r, https, query->der, id.get());
  if (!answer) return std::move(answer).error();
  if (answer->status < 200 || answer->status > 299)
    return error_from_response(answer->status, answer->body, "timestamp from " + r.tsa_url);
  if (media_type(answer->content_type) != "application/timestamp-reply")
    return make_error(Errc::invalid_input,
                      "the TSA " + r.tsa_url + " answered " +
                          (answer->content_type.empty() ? std::string("without a content type")
                                                        : "'" + answer->content_type + "'") +
                          ", not application/timestamp-reply");
  const auto* p = reinterpret_cast<const unsigned char*>(answer->body.data());
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(answer->body.size())));
  if (!resp ||
      p != reinterpret_cast<const unsigned char*>(answer->body.data()) + answer->body.size()) {
    drain_ossl_errors();
    return make_error(Errc::invalid_input,
                      "the TSA's answer is not one DER TimeStampResp (RFC 3161)");
  }
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get())));
  if (status != TS_STATUS_GRANTED && status != TS_STATUS_GRANTED_WITH_MODS)
    return make_error(Errc::invalid_input,
                      "the TSA refused the request: " + status_text(resp.get()));
  auto outcome = verify_reply(query->req.get(), resp.get(), anchors);
  if (!outcome) return std::move(outcome).error();

  auto updated = provenance::attach_timestamp(std::string_view(*text), answer->body);
  if (!updated) return std::move(updated).error().context("adding the timestamp to the bundle");
  WriteOptions wo;
  wo.overwrite = r.output.empty() || r.force;
  if (auto w = write_file_atomic(out_path, *updated, wo); !w) return std::move(w).error();
  outcome->path = out_path;
  return outcome;
}

}  // namespace grafos::admin
