#include "pki/federation.hpp"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <mutex>

#include "pki/csr.hpp"
#include "pki/lint.hpp"
#include "pki/profile.hpp"

namespace grafos::pki::federation {
namespace {

template <class T, auto Free>
using Owned = std::unique_ptr<T, OsslDeleter<Free>>;
using ReqExtsPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype([](STACK_OF(X509_EXTENSION) * s) {
                      sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
                    })>;

struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

struct Nids {
  int grant = NID_undef;
  int user = NID_undef;
};

// OBJ_create is not safe against concurrent lookups of the same table: register once, before any
// thread reads the NIDs.
const Nids& nids() {
  static const Nids n = [] {
    Nids out;
    out.grant = OBJ_txt2nid(std::string(kGrantIdOid).c_str());
    if (out.grant == NID_undef)
      out.grant = OBJ_create(std::string(kGrantIdOid).c_str(), "grafosGrantId",
                             "grafos federation grant id");
    out.user = OBJ_txt2nid(std::string(kUserIdOid).c_str());
    if (out.user == NID_undef)
      out.user = OBJ_create(std::string(kUserIdOid).c_str(), "grafosUserId",
                            "grafos federation subject user id");
    drain_ossl_errors();
    return out;
  }();
  return n;
}

// The DER of one UTF8String holding `value`.
Result<Bytes> utf8string_der(std::string_view value, std::string_view what) {
  Owned<ASN1_UTF8STRING, ASN1_UTF8STRING_free> s(ASN1_UTF8STRING_new());
  if (!s || ASN1_STRING_set(s.get(), value.data(), static_cast<int>(value.size())) != 1)
    return ossl_error(Errc::crypto, "encoding the " + std::string(what));
  unsigned char* der = nullptr;
  int n = i2d_ASN1_UTF8STRING(s.get(), &der);
  if (n <= 0) return ossl_error(Errc::crypto, "encoding the " + std::string(what));
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

// Well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF), checked by
// OpenSSL's own UTF-8 reader.
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  long left = static_cast<long>(s.size());
  while (left > 0) {
    unsigned long cp = 0;
    int n = UTF8_getc(p, static_cast<int>(left), &cp);
    if (n <= 0 || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += n;
    left -= n;
  }
  return true;
}

Result<X509Ptr> issue(Issuer& intermediate, X509_REQ* csr, const PeerGrant& grant,
                      const PeerGrant& values) {
  if (!csr) return Error{Errc::invalid_input, "no certificate request"};
  auto id = make_peer_identity(grant.peer_id);
  if (!id) return std::move(id).error();
  if (auto r = check_grant_field(grant.grant_id, "grant id"); !r) return r.error();
  if (auto r = check_grant_field(grant.user_id, "user id"); !r) return r.error();
  if (auto r = check_grant_field(values.grant_id, "grant id"); !r) return r.error();
  if (auto r = check_grant_field(values.user_id, "user id"); !r) return r.error();
  if (grant.not_after <= std::time(nullptr))
    return Error{Errc::invalid_input, "the grant has expired (its expiry is not in the future)"};

  // The CSR: self-signature and key policy (the one CSR check of the project).
  unsigned char* der = nullptr;
  int der_len = i2d_X509_REQ(csr, &der);
  if (der_len <= 0)
    return ossl_error(Errc::invalid_input, "the certificate request does not encode");
  auto key = csr_public_key(
      std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_len)));
  OPENSSL_free(der);
  if (!key) return std::move(key).error();

  Profile p = profile_for(*id);
  auto grant_der = utf8string_der(values.grant_id, "grant id");
  if (!grant_der) return std::move(grant_der).error();
  auto user_der = utf8string_der(values.user_id, "user id");
  if (!user_der) return std::move(user_der).error();
  p.custom_extensions = {{grant_id_nid(), std::move(*grant_der)},
                         {user_id_nid(), std::move(*user_der)}};
  // Never beyond the grant, never beyond the intermediate.
  std::time_t end = grant.not_after;
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(intermediate.certificate()), &tm) == 1)
    end = std::min(end, ::timegm(&tm));
  p.not_after = end;
  auto cert = intermediate.issue_with_profile(*id, p, key->get(), 1);
  if (!cert) return std::move(cert).error().context("issuing the peer certificate");
  return cert;
}

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// The value of the one extension `nid` of `cert` as text. Errors name `what`.
Result<std::string> one_utf8_extension(X509* cert, int nid, std::string_view what,
                                       std::string_view oid) {
  int first = X509_get_ext_by_NID(cert, nid, -1);
  if (first < 0)
    return Error{Errc::invalid_input, "the certificate has no " + std::string(what) +
                                          " extension (" + std::string(oid) + ")"};
  if (X509_get_ext_by_NID(cert, nid, first) >= 0)
    return Error{Errc::invalid_input, "the certificate carries the " + std::string(what) +
                                          " extension (" + std::string(oid) + ") more than once"};
  X509_EXTENSION* ext = X509_get_ext(cert, first);
  if (X509_EXTENSION_get_critical(ext) == 1)
    return Error{Errc::invalid_input,
                 "the " + std::string(what) + " extension is marked critical; it must not be"};
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(v);
  const unsigned char* end = p + ASN1_STRING_length(v);
  Owned<ASN1_UTF8STRING, ASN1_UTF8STRING_free> u(
      d2i_ASN1_UTF8STRING(nullptr, &p, ASN1_STRING_length(v)));
  if (!u || p != end) {
    drain_ossl_errors();
    return Error{Errc::invalid_input,
                 "the " + std::string(what) + " extension is not one UTF8String"};
  }
  return asn1_text(u.get());
}

}  // namespace

int grant_id_nid() { return nids().grant; }
int user_id_nid() { return nids().user; }

Result<void> check_peer_id(std::string_view peer_id) {
  if (auto r = check_no_control_bytes(peer_id, "peer id"); !r) return r;
  if (auto r = check_tenant_name(peer_id, "peer id"); !r) return r;
  if (peer_id.size() > kMaxPeerIdLength)
    return Error{Errc::invalid_input,
                 "invalid peer id '" + printable(peer_id) + "': at most " +
                     std::to_string(kMaxPeerIdLength) +
                     " characters (the subject CN \"peer <peerId>\" is limited to 64 by RFC 5280)"};
  return ok();
}

Result<std::string> parse_peer_id(std::string_view text) {
  if (auto r = check_peer_id(text); !r) return r.error();
  return std::string(text);
}

Result<void> check_grant_field(std::string_view value, std::string_view what) {
  if (value.empty())
    return Error{Errc::invalid_input, "invalid " + std::string(what) + ": it is empty"};
  if (value.size() > kMaxIdBytes)
    return Error{Errc::invalid_input, "invalid " + std::string(what) + " '" +
                                          printable(value.substr(0, 32)) + "...': it has " +
                                          std::to_string(value.size()) + " bytes, at most " +
                                          std::to_string(kMaxIdBytes) + " are allowed"};
  if (auto r = check_no_control_bytes(value, what); !r) return r;
  if (!valid_utf8(value))
    return Error{Errc::invalid_input, "invalid " + std::string(what) + " '" + printable(value) +
                                          "': it is not well-formed UTF-8"};
  return ok();
}

std::string peer_urn(std::string_view peer_id) {
  return std::string(kUrnPeerPrefix) + std::string(peer_id);
}

Result<Identity> make_peer_identity(std::string_view peer_id) {
  if (auto r = check_peer_id(peer_id); !r) return r.error();
  Identity id;
  id.role = Role::peer;
  id.name = std::string(peer_id);
  return id;
}

Result<X509ReqPtr> read_csr(std::string_view data) {
  X509ReqPtr req;
  if (data.find("-----BEGIN") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    req.reset(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
  }
  if (!req)
    return ossl_error(Errc::invalid_input, "not a PKCS#10 certificate request (PEM or DER)");
  return req;
}

Result<X509Ptr> issue_peer_certificate(Issuer& intermediate, X509_REQ* csr,
                                       const PeerGrant& grant) {
  return issue(intermediate, csr, grant, grant);
}

Result<X509Ptr> issue_peer_certificate_with_extensions_for_test(Issuer& intermediate, X509_REQ* csr,
                                                                const PeerGrant& grant,
                                                                const PeerGrant& extension_values) {
  return issue(intermediate, csr, grant, extension_values);
}

Result<PeerCertificateInfo> read_peer_certificate(X509* cert) {
  if (!cert) return Error{Errc::invalid_input, "no certificate"};
  PeerCertificateInfo info;
  auto id = identity_from_cert(cert);
  if (!id) return std::move(id).error().context("the peer certificate's name");
  if (id->role != Role::peer)
    return Error{Errc::invalid_input, "the certificate names " + identity_label(*id) +
                                          ", not a federation peer (" +
                                          std::string(kUrnPeerPrefix) + "<peerId>)"};
  info.peer_id = id->name;
  auto grant = one_utf8_extension(cert, grant_id_nid(), "grant id", kGrantIdOid);
  if (!grant) return std::move(grant).error();
  auto user = one_utf8_extension(cert, user_id_nid(), "subject user id", kUserIdOid);
  if (!user) return std::move(user).error();
  info.grant_id = std::move(*grant);
  info.user_id = std::move(*user);
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
    return Error{Errc::invalid_input, "the certificate's notAfter is unreadable"};
  info.not_after = ::timegm(&tm);
  info.not_after_rfc3339 = rfc3339(X509_get0_notAfter(cert));
  info.fingerprint_sha256 = x509_sha256_fingerprint(cert);
  info.serial = serial_hex(cert);
  return info;
}

Result<PeerCertificateInfo> check_peer_certificate(X509* cert, const std::vector<X509*>& chain,
                                                   X509* pinned_root,
                                                   const ExpectedPeer& expected) {
  if (!cert || !pinned_root)
    return Error{Errc::invalid_input, "no certificate or no pinned CA certificate"};
  // The chain, to the pinned root only (no system store), as a TLS client certificate.
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx || X509_STORE_add_cert(store.get(), pinned_root) != 1)
    return ossl_error(Errc::crypto, "setting up certificate verification");
  for (X509* c : chain)
    if (!c || sk_X509_push(untrusted.get(), c) <= 0)
      return ossl_error(Errc::crypto, "setting up certificate verification");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), cert, untrusted.get()) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1)
    return ossl_error(Errc::crypto, "setting up certificate verification");
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    drain_ossl_errors();
    return Error{Errc::crypto,
                 std::string("the peer certificate does not verify to the pinned CA: ") +
                     X509_verify_cert_error_string(err)};
  }
  auto info = read_peer_certificate(cert);
  if (!info) return std::move(info).error();
  if (info->peer_id != expected.peer_id)
    return Error{Errc::invalid_input, "the certificate names peer '" + printable(info->peer_id) +
                                          "', expected '" + printable(expected.peer_id) + "'"};
  if (info->grant_id != expected.grant_id)
    return Error{Errc::invalid_input, "the certificate's grant id extension is '" +
                                          printable(info->grant_id) + "', expected '" +
                                          printable(expected.grant_id) + "'"};
  if (info->user_id != expected.user_id)
    return Error{Errc::invalid_input, "the certificate's subject user id extension is '" +
                                          printable(info->user_id) + "', expected '" +
                                          printable(expected.user_id) + "'"};
  if (expected.public_key && !public_keys_equal(X509_get0_pubkey(cert), expected.public_key)) {
    drain_ossl_errors();
    return Error{Errc::invalid_input,
                 "the certificate certifies another key than the one the request was made with"};
  }
  return info;
}

namespace {

// Builds and signs the CSR of `id` over `memory_key` or `signer`, and fills `out`.
Result<void> finish_peer_csr(const Identity& id, std::string_view peer_id, EvpPkeyPtr memory_key,
                             hsm::Signer* signer, PeerKey& out) {
  EVP_PKEY* pub = memory_key ? memory_key.get() : signer->public_key();

  X509ReqPtr req(X509_REQ_new());
  X509NamePtr name(X509_NAME_new());
  std::string cn = common_name_for(id);
  std::string urn = peer_urn(peer_id);
  GeneralNamesPtr sans(sk_GENERAL_NAME_new_null());
  Owned<GENERAL_NAME, GENERAL_NAME_free> gn(GENERAL_NAME_new());
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  bool built = req && name && sans && gn && ia5 &&
               ASN1_STRING_set(ia5, urn.data(), static_cast<int>(urn.size())) == 1;
  if (!built) {
    ASN1_IA5STRING_free(ia5);
    return ossl_error(Errc::crypto, "building the certificate request");
  }
  GENERAL_NAME_set0_value(gn.get(), GEN_URI, ia5);
  ReqExtsPtr exts(sk_X509_EXTENSION_new_null());
  if (sk_GENERAL_NAME_push(sans.get(), gn.get()) <= 0)
    return ossl_error(Errc::crypto, "building the certificate request");
  gn.release();
  X509ExtPtr san_ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get()));
  if (!exts || !san_ext || sk_X509_EXTENSION_push(exts.get(), san_ext.get()) <= 0)
    return ossl_error(Errc::crypto, "building the certificate request's subjectAltName");
  san_ext.release();
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), pub) != 1 ||
      X509_REQ_add_extensions(req.get(), exts.get()) != 1)
    return ossl_error(Errc::crypto, "building the certificate request");
  if (memory_key) {
    if (X509_REQ_sign(req.get(), memory_key.get(), EVP_sha256()) <= 0)
      return ossl_error(Errc::crypto, "signing the certificate request");
  } else {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return ossl_error(Errc::crypto, "allocating a signing context");
    if (auto r = signer->init_digest_sign(ctx.get()); !r) return r;
    if (X509_REQ_sign_ctx(req.get(), ctx.get()) <= 0)
      return ossl_error(Errc::key_backend,
                        "signing the certificate request with " + signer->description());
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1)
    return ossl_error(Errc::crypto, "encoding the certificate request");
  out.csr_pem = bio_to_string(bio.get());
  if (memory_key) {
    auto pem = private_key_to_pem(memory_key.get());
    if (!pem) return std::move(pem).error();
    out.private_key_pem = SecretString(std::move(*pem));
  }
  return ok();
}

}  // namespace

Result<PeerKey> make_peer_key_and_csr(std::string_view peer_id, std::string_view key_ref,
                                      const hsm::Interaction& interaction) {
  auto id = make_peer_identity(peer_id);
  if (!id) return std::move(id).error();
  PeerKey out;
  if (key_ref.empty()) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return ossl_error(Errc::crypto, "generating an EC P-256 key");
    if (auto r = finish_peer_csr(*id, peer_id, std::move(key), nullptr, out); !r) return r.error();
    return out;
  }
  if (hsm::classify_key_ref(key_ref) != hsm::Backend::pkcs11)
    return Error{Errc::usage,
                 "a peer key is made in memory or in a PKCS#11 token (pkcs11: URI); '" +
                     hsm::redact_key_ref(key_ref) + "' is neither"};
  auto km = hsm::open_key_manager(key_ref, interaction);
  if (!km) return std::move(km).error().context("creating the peer key");
  return make_peer_key_and_csr(peer_id, **km, key_ref);
}

Result<PeerKey> make_peer_key_and_csr(std::string_view peer_id, hsm::KeyManager& manager,
                                      std::string_view key_ref) {
  auto id = make_peer_identity(peer_id);
  if (!id) return std::move(id).error();
  if (manager.backend() != hsm::Backend::pkcs11 || key_ref.empty())
    return Error{Errc::usage,
                 "a peer key in a token needs a PKCS#11 key manager and a pkcs11: URI"};
  auto s = manager.create_key({.ref = std::string(key_ref), .replace = false, .label = {}});
  if (!s) return std::move(s).error().context("creating the peer key");
  PeerKey out;
  out.key_ref = std::string(key_ref);
  if (auto r = finish_peer_csr(*id, peer_id, nullptr, s->get(), out); !r) {
    s->reset();
    if (auto d = manager.discard_created_key(); !d)
      return std::move(r).error().context("the peer key made in the token could not be removed (" +
                                          d.error().message + ")");
    return r.error();
  }
  return out;
}

std::string ca_fingerprint_sha256(X509* cert) {
  if (!cert) return {};
  return x509_sha256_fingerprint(cert);
}

}  // namespace grafos::pki::federation
