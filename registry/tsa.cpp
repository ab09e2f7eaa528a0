#include "registry/tsa.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <mutex>
#include <optional>
#include <vector>

#include "hsm/load_key.hpp"
#include "util/ossl.hpp"
#include "util/ossl_ts.hpp"

namespace grafos::registry {
namespace {

// Every certificate of a PEM file, in order.
Result<std::vector<X509Ptr>> read_chain(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    drain_ossl_errors();
    return make_error(Errc::file_missing, "cannot read the certificate file '" + path + "'");
  }
  std::vector<X509Ptr> out;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  drain_ossl_errors();  // the end of the file reads as an error
  if (out.empty())
    return make_error(Errc::invalid_input, "'" + path + "' holds no PEM certificate");
  return out;
}

// What the serial callback of one request reports back.
struct RequestState {
  Tsa::Impl* tsa = nullptr;
  std::optional<Error> serial_error;
};

}  // namespace

struct Tsa::Impl {
  hsm::LoadedKey key;  // the signer owns the token session the key lives in
  X509Ptr cert;
  std::vector<X509Ptr> chain;  // the certificates after the TSA's in --tsa-cert
  Asn1ObjectPtr policy;
  SerialReserver reserve;

  std::mutex serial_mu;
  std::uint64_t next_serial = 0;  // next serial to hand out
  std::uint64_t end_serial = 0;   // one past the reserved block

  // Idle response contexts. A TS_RESP_CTX keeps per-request state only for the duration of
  // TS_RESP_create_response (it cleans up after each), so one context serves one request at a
  // time and is reused; declared after `key` so that they are freed before the key's session.
  std::mutex pool_mu;
  std::vector<TsRespCtxPtr> pool;

  Result<TsRespCtxPtr> checkout(RequestState& st) {
    TsRespCtxPtr ctx;
    {
      std::lock_guard lk(pool_mu);
      if (!pool.empty()) {
        ctx = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!ctx) {
      auto made = make_ctx(st);
      if (!made) return made;
      ctx = std::move(*made);
    }
    TS_RESP_CTX_set_serial_cb(ctx.get(), &Impl::serial_cb, &st);
    return ctx;
  }

  void checkin(TsRespCtxPtr ctx) {
    std::lock_guard lk(pool_mu);
    if (pool.size() < 64) pool.push_back(std::move(ctx));
  }

  Result<std::uint64_t> take_serial() {
    std::lock_guard lk(serial_mu);
    if (next_serial == end_serial) {
      if (!reserve) return make_error(Errc::internal, "the TSA has no serial source");
      auto first = reserve(kSerialBlock);
      if (!first) return std::move(first).error().context("reserving timestamp serials");
      if (*first == 0)
        return make_error(Errc::internal, "the serial reservation returned serial 0");
      next_serial = *first;
      end_serial = *first + kSerialBlock;
    }
    return next_serial++;
  }

  static ASN1_INTEGER* serial_cb(TS_RESP_CTX* ctx, void* data) {
    auto* st = static_cast<RequestState*>(data);
    auto serial = st->tsa->take_serial();
    Asn1IntegerPtr out;
    if (serial) {
      out.reset(ASN1_INTEGER_new());
      if (!out || ASN1_INTEGER_set_uint64(out.get(), *serial) != 1) {
        out.reset();
        st->serial_error = ossl_error(Errc::crypto, "encoding the timestamp serial");
      }
    } else {
      st->serial_error = std::move(serial).error();
    }
    if (!out) {
      TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION,
                                  "Error during serial number generation.");
      TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
    }
    return out.release();
  }

  // A context for one request: contexts hold per-request state, so each request has its own.
  Result<TsRespCtxPtr> make_ctx(RequestState& st) {
    TsRespCtxPtr ctx(TS_RESP_CTX_new());
    if (!ctx) return ossl_error(Errc::crypto, "allocating a TS_RESP_CTX");
    bool ok = TS_RESP_CTX_set_signer_cert(ctx.get(), cert.get()) == 1 &&
              TS_RESP_CTX_set_signer_key(ctx.get(), key.private_key.get()) == 1 &&
              TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256()) == 1 &&
              TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), EVP_sha256()) == 1 &&
              TS_RESP_CTX_set_def_policy(ctx.get(), policy.get()) == 1 &&
              TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) == 1 &&
              TS_RESP_CTX_set_accuracy(ctx.get(), kTsaAccuracySeconds, 0, 0) == 1;
    if (ok && !chain.empty()) {
      X509StackPtr certs(sk_X509_new_null());
      ok = certs != nullptr;
      for (auto& c : chain)
        ok = ok && sk_X509_push(certs.get(), c.get()) > 0 && X509_up_ref(c.get()) == 1;
      // TS_RESP_CTX_set_certs takes its own references.
      ok = ok && TS_RESP_CTX_set_certs(ctx.get(), certs.get()) == 1;
    }
    if (!ok) return ossl_error(Errc::crypto, "setting up the timestamp response context");
    TS_RESP_CTX_set_serial_cb(ctx.get(), &Impl::serial_cb, &st);
    return ctx;
  }
};

Tsa::~Tsa() = default;

void Tsa::use_serials(SerialReserver reserve) {
  std::lock_guard lk(impl_->serial_mu);
  impl_->reserve = std::move(reserve);
}

Result<std::unique_ptr<Tsa>> Tsa::open(const TsaConfig& cfg) {
  auto certs = read_chain(cfg.cert_path);
  if (!certs) return std::move(certs).error().context("TSA certificate");
  std::unique_ptr<Tsa> t(new Tsa());
  t->impl_ = std::make_unique<Impl>();
  Impl& im = *t->impl_;
  im.cert = std::move((*certs)[0]);
  for (size_t i = 1; i < certs->size(); ++i) im.chain.push_back(std::move((*certs)[i]));
  // RFC 3161 2.3: a TSA certificate has exactly one EKU, timeStamping, and it is critical.
  // OpenSSL's timestamp-signing purpose checks exactly that (TS_RESP_CTX_set_signer_cert too).
  if (X509_check_purpose(im.cert.get(), X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
    drain_ossl_errors();
    return make_error(Errc::invalid_input,
                      "the certificate '" + cfg.cert_path +
                          "' is not a time-stamping certificate (RFC 3161 requires the extended "
                          "key usage timeStamping, alone and critical; issue one with role "
                          "timestamp-authority)");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(im.cert.get())) <= 0 ||
      X509_cmp_current_time(X509_get0_notBefore(im.cert.get())) >= 0)
    return make_error(Errc::invalid_input, "the TSA certificate '" + cfg.cert_path +
                                               "' is not valid now (expired or not yet valid)");
  auto key = hsm::load_key({.ref = cfg.key_ref,
                            .certificate = im.cert.get(),
                            .certificate_name = "the TSA certificate '" + cfg.cert_path + "'",
                            .interaction = cfg.interaction,
                            .certificate_path = {}});
  if (!key) return std::move(key).error().context("TSA key");
  im.key = std::move(*key);
  im.policy.reset(OBJ_txt2obj(std::string(kTsaPolicyOid).c_str(), 1));
  if (!im.policy) return ossl_error(Errc::internal, "encoding the TSA policy OID");
  // One context up front: whatever TS_RESP_CTX refuses (the key type, the certificate) shows up
  // at startup, not at the first request.
  RequestState probe{&im, std::nullopt};
  auto ctx = im.make_ctx(probe);
  if (!ctx) return std::move(ctx).error().context("TSA");
  im.checkin(std::move(*ctx));
  return t;
}

std::string Tsa::subject() const {
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(impl_->cert.get()), buf, sizeof buf);
  return buf;
}

namespace {

// "badAlg, unacceptedPolicy": the failure bits RFC 3161 2.4.2 names.
std::string failure_text(const ASN1_BIT_STRING* bits) {
  std::string out;
  for (auto name : ts_failure_names(bits)) out += (out.empty() ? "" : ", ") + std::string(name);
  return out.empty() ? "no failure info" : out;
}

}  // namespace

Result<TsaReply> Tsa::respond(std::string_view query) {
  if (query.empty()) return make_error(Errc::bad_request, "empty timestamp query");
  if (query.size() > kMaxTimestampQuery)
    return make_error(Errc::bad_request, "timestamp query larger than " +
                                             std::to_string(kMaxTimestampQuery) + " bytes");
  // One DER TimeStampReq and nothing after it. (TS_RESP_create_response would answer garbage
  // with a badDataFormat rejection; a request that is not one gets a plain HTTP 400 instead.)
  {
    const auto* p = reinterpret_cast<const unsigned char*>(query.data());
    TsReqPtr req(d2i_TS_REQ(nullptr, &p, static_cast<long>(query.size())));
    if (!req) {
      drain_ossl_errors();
      return make_error(Errc::bad_request, "the body is not a DER-encoded RFC 3161 TimeStampReq");
    }
    if (p != reinterpret_cast<const unsigned char*>(query.data()) + query.size())
      return make_error(Errc::bad_request, "trailing bytes after the DER TimeStampReq");
  }
  RequestState st{impl_.get(), std::nullopt};
  auto ctx = impl_->checkout(st);
  if (!ctx) return std::move(ctx).error();
  BioPtr in(BIO_new_mem_buf(query.data(), static_cast<int>(query.size())));
  if (!in) return ossl_error(Errc::crypto, "allocating a memory BIO");
  TsRespPtr resp(TS_RESP_create_response(ctx->get(), in.get()));
  impl_->checkin(std::move(*ctx));
  if (st.serial_error) {
    drain_ossl_errors();
    return *st.serial_error;
  }
  if (!resp) return ossl_error(Errc::crypto, "creating the timestamp response");
  // A rejection of the request itself carries a failure info (badAlg, unacceptedPolicy, ...);
  // a rejection without one is OpenSSL failing to build or sign the reply: ours to log.
  TS_STATUS_INFO* si = TS_RESP_get_status_info(resp.get());
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
  if (status != TS_STATUS_GRANTED && status != TS_STATUS_GRANTED_WITH_MODS &&
      TS_STATUS_INFO_get0_failure_info(si) == nullptr)
    return ossl_error(Errc::crypto, "signing the timestamp token");
  drain_ossl_errors();
  TsaReply out;
  out.granted = status == TS_STATUS_GRANTED || status == TS_STATUS_GRANTED_WITH_MODS;
  if (out.granted) {
    const ASN1_INTEGER* serial = TS_TST_INFO_get_serial(TS_RESP_get_tst_info(resp.get()));
    std::uint64_t n = 0;
    out.summary =
        "granted serial " +
        (serial && ASN1_INTEGER_get_uint64(&n, serial) == 1 ? std::to_string(n) : std::string("?"));
  } else {
    out.summary = "rejection: " + failure_text(TS_STATUS_INFO_get0_failure_info(si));
  }
  unsigned char* der = nullptr;
  int len = i2d_TS_RESP(resp.get(), &der);
  if (len <= 0) return ossl_error(Errc::crypto, "encoding the timestamp response");
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace grafos::registry
