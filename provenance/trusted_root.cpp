#include "provenance/trusted_root.hpp"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <nlohmann/json.hpp>

#include <vector>

#include "provenance/record.hpp"
#include "provenance/timestamp.hpp"
#include "util/base64.hpp"
#include "util/file_io.hpp"
#include "util/ossl.hpp"

namespace grafos::provenance {

using nlohmann::json;

namespace {

struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

Error bad(std::string message) { return Error{Errc::invalid_input, std::move(message)}; }

Result<std::vector<X509Ptr>> read_certs(const std::string& pem, const std::string& name) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  for (;;) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!c) break;
    out.emplace_back(c);
  }
  drain_ossl_errors();
  if (out.empty()) return bad(name + " holds no PEM certificate");
  return out;
}

std::string rfc3339(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string name_entry(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

Result<std::string> der_b64(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n <= 0) return ossl_error(Errc::crypto, "encoding a certificate");
  std::string out = base64_encode(std::span<const unsigned char>(der, static_cast<size_t>(n)));
  OPENSSL_free(der);
  return out;
}

// One CertificateAuthority entry: subject of the chain's first certificate, the chain, and
// validFor that certificate's validity.
Result<json> authority(const std::vector<X509*>& chain) {
  json certs = json::array();
  for (X509* c : chain) {
    auto b = der_b64(c);
    if (!b) return std::move(b).error();
    certs.push_back({{"rawBytes", *b}});
  }
  X509* first = chain.front();
  json subject = json::object();
  if (auto o = name_entry(first, NID_organizationName); !o.empty()) subject["organization"] = o;
  if (auto cn = name_entry(first, NID_commonName); !cn.empty()) subject["commonName"] = cn;
  return json{{"subject", subject},
              {"certChain", {{"certificates", certs}}},
              {"validFor",
               {{"start", rfc3339(X509_get0_notBefore(first))},
                {"end", rfc3339(X509_get0_notAfter(first))}}}};
}

bool self_signed(X509* c) { return X509_check_issued(c, c) == X509_V_OK; }

}  // namespace

Result<std::string> make_trusted_root(const std::string& ca_pem,
                                      const std::optional<std::string>& tsa_pem) {
  auto cas = read_certs(ca_pem, "the fabric CA certificate file");
  if (!cas) return std::move(cas).error();
  std::vector<X509*> ca_chain;
  for (auto& c : *cas) {
    if (X509_check_ca(c.get()) < 1)
      return bad("the fabric CA certificate file holds a certificate that is not a CA certificate");
    ca_chain.push_back(c.get());
  }
  auto ca_entry = authority(ca_chain);
  if (!ca_entry) return std::move(ca_entry).error();

  json tsas = json::array();
  std::vector<X509Ptr> tsa_certs;
  if (tsa_pem) {
    auto t = read_certs(*tsa_pem, "the TSA certificate file");
    if (!t) return std::move(t).error();
    tsa_certs = std::move(*t);
    X509* leaf = tsa_certs.front().get();
    if (X509_check_ca(leaf) >= 1)
      return bad("the TSA certificate is a CA certificate, not a time-stamping authority");
    if (auto r = check_tsa_profile(leaf); !r) return Error{Errc::invalid_input, r.error().message};
    std::vector<X509*> chain;
    for (auto& c : tsa_certs) chain.push_back(c.get());
    // Issued by the fabric CA (or one of its intermediates): complete the chain with it.
    if (!self_signed(chain.back()))
      for (auto& c : *cas)
        if (X509_check_issued(c.get(), chain.back()) == X509_V_OK) {
          for (size_t i = static_cast<size_t>(&c - cas->data()); i < cas->size(); ++i)
            chain.push_back((*cas)[i].get());
          break;
        }
    drain_ossl_errors();
    // The chain must verify now: the root of the chain as the only anchor.
    X509StorePtr store(X509_STORE_new());
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509StackPtr untrusted(sk_X509_new_null());
    if (!store || !ctx || !untrusted) return ossl_error(Errc::crypto, "allocating a store");
    if (X509_STORE_add_cert(store.get(), chain.back()) != 1)
      return ossl_error(Errc::crypto, "adding the TSA chain's root");
    for (size_t i = 1; i + 1 < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i]);
    if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1)
      return ossl_error(Errc::crypto, "initialising certificate verification");
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_X509_STRICT);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_TIMESTAMP_SIGN);
    int rc = X509_verify_cert(ctx.get());
    int err = X509_STORE_CTX_get_error(ctx.get());
    drain_ossl_errors();
    if (chain.size() < 2 || rc != 1)
      return bad(std::string("the TSA certificate's chain does not verify (it must be issued by "
                             "the fabric CA, or the file must hold its chain up to its root): ") +
                 (rc != 1 ? X509_verify_cert_error_string(err) : "no issuer"));
    auto e = authority(chain);
    if (!e) return std::move(e).error();
    tsas.push_back(std::move(*e));
  }

  json root = {{"mediaType", std::string(kTrustedRootMediaType)},
               {"tlogs", json::array()},
               {"certificateAuthorities", json::array({std::move(*ca_entry)})},
               {"ctlogs", json::array()},
               {"timestampAuthorities", std::move(tsas)}};
  return to_canonical_json(root);
}

Result<Written> write_trusted_root(const TrustedRootRequest& req) {
  if (auto r = check_output_free(req.output); !r) return std::move(r).error();
  auto ca = read_file(req.ca);
  if (!ca) return std::move(ca).error().context("the fabric CA certificate");
  std::optional<std::string> tsa;
  if (req.tsa_cert) {
    auto t = read_file(*req.tsa_cert);
    if (!t) return std::move(t).error().context("the TSA certificate");
    tsa = std::move(*t);
  }
  auto text = make_trusted_root(*ca, tsa);
  if (!text) return std::move(text).error();
  if (auto r = write_output(req.output, *text); !r) return std::move(r).error();
  Written w;
  w.output = req.output.path;
  w.text = std::move(*text);
  return w;
}

}  // namespace grafos::provenance
