#include "registry/tls.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <openssl/pem.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "admin/wire.hpp"
#include "pki/crl.hpp"
#include "registry/auth.hpp"
#include "util/ossl.hpp"

namespace grafos::registry {
namespace {

// TLS 1.2: ECDHE with AEAD only. TLS 1.3: the three standard AEAD suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

int ssl_ctx_index() {
  static int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

int crl_ctx_index() {
  static int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Audits every client certificate refused in the handshake. A certificate whose chain did not
// verify is named by its fingerprint: whatever principal it claims is the claim of an unknown
// party.
int verify_cb(int preverify_ok, X509_STORE_CTX* sctx) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* store =
      ssl ? static_cast<Store*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ctx_index()))
          : nullptr;
  X509* leaf = X509_STORE_CTX_get0_cert(sctx);
  int depth = X509_STORE_CTX_get_error_depth(sctx);
  std::string why;
  bool verified = preverify_ok != 0;
  if (!preverify_ok) {
    why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx));
  } else if (depth == 0) {
    auto r = check_client_cert_profile(X509_STORE_CTX_get_current_cert(sctx));
    auto* crl =
        ssl ? static_cast<CrlWatch*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), crl_ctx_index()))
            : nullptr;
    if (!r) {
      why = r.error().message;
      X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_PURPOSE);
    } else if (crl && crl->revoked(X509_STORE_CTX_get_current_cert(sctx), why)) {
      X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REVOKED);
    }
  }
  if (why.empty()) return 1;
  if (store) {
    admin::AuditEntry e;
    e.time = now_s();
    e.kind = "auth";
    e.principal = verified ? cert_label(leaf) : unverified_label(leaf);
    e.action = "TLS handshake";
    e.outcome = "denied";
    e.detail = "client certificate refused: " + why;
    store->audit(std::move(e));
  }
  return 0;
}

}  // namespace

Result<std::unique_ptr<CrlWatch>> CrlWatch::open(const std::string& path,
                                                 const std::string& client_ca) {
  std::unique_ptr<CrlWatch> w(new CrlWatch());
  w->path_ = path;
  BioPtr bio(BIO_new_file(client_ca.c_str(), "r"));
  w->ca_.reset(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!w->ca_) return ossl_error(Errc::invalid_input, "reading the client CA " + client_ca);
  if (auto r = w->load(); !r) return std::move(r).error().context("the CRL '" + path + "'");
  return w;
}

Result<void> CrlWatch::load() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    return make_error(Errc::file_missing, "cannot stat " + path_ + ": " + std::strerror(errno));
  auto crl = pki::read_crl(path_, ca_.get());
  if (!crl) return crl.error();
  std::shared_ptr<X509_CRL> next(crl->release(), X509_CRL_free);
  std::lock_guard lk(mu_);
  crl_ = std::move(next);
  seen_ = st;
  return ok();
}

std::shared_ptr<X509_CRL> CrlWatch::current() {
  struct stat st {};
  bool changed = false;
  {
    std::lock_guard lk(mu_);
    changed =
        ::stat(path_.c_str(), &st) == 0 &&
        (st.st_ino != seen_.st_ino || st.st_size != seen_.st_size ||
         st.st_mtim.tv_sec != seen_.st_mtim.tv_sec || st.st_mtim.tv_nsec != seen_.st_mtim.tv_nsec);
  }
  if (changed) {
    if (auto r = load(); !r) {
      std::lock_guard lk(mu_);
      seen_ = st;  // report a bad file once, not at every handshake
      std::fprintf(stderr,
                   "grafos-registry: warning: the CRL %s was not reloaded (%s); the CRL "
                   "read before stays in force\n",
                   path_.c_str(), r.error().message.c_str());
    }
  }
  std::lock_guard lk(mu_);
  return crl_;
}

bool CrlWatch::revoked(X509* cert, std::string& why) {
  auto crl = current();
  X509_REVOKED* entry = nullptr;
  if (!crl || X509_CRL_get0_by_cert(crl.get(), &entry, cert) != 1) return false;
  long number = -1;
  if (auto* n = static_cast<ASN1_INTEGER*>(
          X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr))) {
    number = ASN1_INTEGER_get(n);
    ASN1_INTEGER_free(n);
  }
  why = "certificate revoked (listed on CRL number " + std::to_string(number) + ")";
  return true;
}

std::string cert_label(X509* cert) {
  if (!cert) return "unknown";
  auto p = principal_from_cert(cert);
  if (p) return p->name;
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return std::string("cert:") + buf;
}

std::string unverified_label(X509* cert) {
  if (!cert) return "unverified";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) {
    drain_ossl_errors();
    return "unverified";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "unverified:sha256:";
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

namespace {

Result<void> check_server_eku(X509* leaf, const std::string& cert_path) {
  uint32_t flags = X509_get_extension_flags(leaf);
  if (!(flags & EXFLAG_XKUSAGE))
    return make_error(Errc::invalid_input,
                      "the server certificate '" + cert_path +
                          "' has no extended key usage: a TLS server certificate needs EKU "
                          "serverAuth (grafos-ca issue-server-cert makes one)");
  if (!(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER))
    return make_error(Errc::invalid_input,
                      "the server certificate '" + cert_path +
                          "' lacks the serverAuth extended key usage (is it a client "
                          "certificate?): a TLS server certificate needs EKU serverAuth "
                          "(grafos-ca issue-server-cert makes one)");
  return ok();
}

}  // namespace

Result<void> check_server_certificate(const std::string& cert_path) {
  BioPtr bio(BIO_new_file(cert_path.c_str(), "r"));
  if (!bio) {
    drain_ossl_errors();
    return make_error(Errc::io, "cannot read the server certificate '" + cert_path + "'");
  }
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return ossl_error(Errc::invalid_input, "no PEM certificate in '" + cert_path + "'");
  return check_server_eku(leaf.get(), cert_path);
}

Result<void> configure_server_tls(SSL_CTX* ctx, const TlsSetup& s) {
  auto fail = [&](const std::string& what) { return ossl_error(Errc::tls, what); };
  SSL_CTX_set_ex_data(ctx, ssl_ctx_index(), s.audit);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return fail("TLS minimum version");
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return fail("TLS 1.2 cipher list");
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) return fail("TLS 1.3 cipher suites");
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) return fail("TLS groups");
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_path.c_str()) != 1)
    return fail("loading the server certificate chain " + s.cert_path);
  if (X509* leaf = SSL_CTX_get0_certificate(ctx); leaf)
    if (auto e = check_server_eku(leaf, s.cert_path); !e) return e;
  if (SSL_CTX_use_PrivateKey(ctx, s.key) != 1) return fail("installing the server key");
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail("the server key does not match " + s.cert_path);
  static const unsigned char sid[] = "grafos-registry";
  SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  if (!s.verify_clients) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return ok();
  }
  X509_STORE* anchors = X509_STORE_new();
  if (!anchors || X509_STORE_load_file(anchors, s.client_ca.c_str()) != 1) {
    X509_STORE_free(anchors);
    return fail("loading the client CA " + s.client_ca);
  }
  SSL_CTX_set_cert_store(ctx, anchors);  // takes ownership; no default verify paths
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca.c_str());
  if (names) SSL_CTX_set_client_CA_list(ctx, names);
  drain_ossl_errors();
  SSL_CTX_set_verify_depth(ctx, 4);
  if (s.crl) {
    SSL_CTX_set_ex_data(ctx, crl_ctx_index(), s.crl);
    // A resumed session skips certificate verification: with a CRL every connection shows its
    // certificate again, so a revocation applies to clients that connected before it.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  // Without FAIL_IF_NO_PEER_CERT: a caller without a certificate gets an audited 401 instead of a
  // bare handshake failure. Any presented certificate that fails is refused in the handshake (and
  // audited by verify_cb).
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &verify_cb);
  return ok();
}

}  // namespace grafos::registry
