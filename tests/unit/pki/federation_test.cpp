// pki/federation: the peer certificates the enrollment intermediate issues, the enrolling side's
// checks, peer keys and CSRs (in memory and in a real SoftHSMv2 token), and the intermediate's
// profile.
#include "pki/federation.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "pki/csr.hpp"
#include "pki/lint.hpp"
#include "pki/profile.hpp"
#include "tests/support/fixtures.hpp"

using namespace grafos;
using namespace grafos::pki;
namespace fed = grafos::pki::federation;

namespace {

constexpr std::time_t kDay = 86400;

EvpPkeyPtr keygen(const char* curve) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

// A certificate as a verifier sees it (Issuer output has no cached public key).
X509Ptr reread(X509* cert) {
  auto pem = x509_to_pem(cert);
  auto back = x509_from_pem(*pem);
  return std::move(*back);
}

std::unique_ptr<hsm::Signer> signer_for(EVP_PKEY* key) {
  EVP_PKEY_up_ref(key);
  return std::make_unique<hsm::EvpSigner>(EvpPkeyPtr(key), "test key");
}

// A root (pathLen 1) and its enrollment intermediate, in memory.
struct Fabric {
  EvpPkeyPtr root_key = keygen("P-256");
  EvpPkeyPtr int_key = keygen("P-256");
  X509Ptr root;
  X509Ptr intermediate;

  explicit Fabric(int root_days = 3650, int int_days = 365) {
    hsm::EvpSigner s(EvpPkeyPtr([&] {
                       EVP_PKEY_up_ref(root_key.get());
                       return root_key.get();
                     }()),
                     "root");
    auto r = create_ca_certificate(*make_ca_identity("Test Fabric CA", 1), s, root_days);
    EXPECT_TRUE(r) << r.error().message;
    root = reread(r->get());
    auto issuer = Issuer::create(X509Ptr(X509_dup(root.get())), signer_for(root_key.get()));
    EXPECT_TRUE(issuer) << issuer.error().message;
    auto i = issuer->issue(make_intermediate_identity(), int_key.get(), int_days);
    EXPECT_TRUE(i) << i.error().message;
    intermediate = reread(i->get());
  }

  Issuer enrollment_issuer() {
    auto issuer = Issuer::create(X509Ptr(X509_dup(intermediate.get())), signer_for(int_key.get()));
    EXPECT_TRUE(issuer) << issuer.error().message;
    return std::move(*issuer);
  }
};

X509ReqPtr csr_for(const std::string& peer) {
  auto k = fed::make_peer_key_and_csr(peer);
  EXPECT_TRUE(k) << k.error().message;
  auto req = fed::read_csr(k->csr_pem);
  EXPECT_TRUE(req) << req.error().message;
  return std::move(*req);
}

fed::PeerGrant grant(std::time_t days = 30) {
  return {.peer_id = "fabric-b",
          .grant_id = "6f1c2a9e-grant",
          .user_id = "user-42",
          .not_after = std::time(nullptr) + days * kDay};
}

fed::ExpectedPeer expected() {
  return {.peer_id = "fabric-b", .grant_id = "6f1c2a9e-grant", .user_id = "user-42"};
}

std::vector<int> ekus(X509* cert) {
  std::vector<int> out;
  auto* e =
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
  for (int i = 0; e && i < sk_ASN1_OBJECT_num(e); ++i)
    out.push_back(OBJ_obj2nid(sk_ASN1_OBJECT_value(e, i)));
  EXTENDED_KEY_USAGE_free(e);
  return out;
}

std::time_t not_after(X509* cert) {
  struct tm tm {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm);
  return ::timegm(&tm);
}

// Re-signs `cert` with `key` after the test changed it (a forged certificate for the checks).
void resign(X509* cert, EVP_PKEY* key) { ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0); }

// Verifies `leaf` to `root` through `intermediate` for `purpose`; the verify error, 0 when good.
int verify_error(X509* leaf, X509* intermediate, X509* root, int purpose) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), root);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, intermediate);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  int rc = X509_verify_cert(ctx.get());
  int err = rc == 1 ? 0 : X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(chain);
  return err == 0 && rc != 1 ? -1 : err;
}

TEST(FederationOids, RegisteredUnderTheProjectArc) {
  char buf[128];
  ASSERT_NE(fed::grant_id_nid(), NID_undef);
  ASSERT_NE(fed::user_id_nid(), NID_undef);
  EXPECT_NE(fed::grant_id_nid(), fed::user_id_nid());
  OBJ_obj2txt(buf, sizeof buf, OBJ_nid2obj(fed::grant_id_nid()), 1);
  EXPECT_EQ(std::string(buf), fed::kGrantIdOid);
  OBJ_obj2txt(buf, sizeof buf, OBJ_nid2obj(fed::user_id_nid()), 1);
  EXPECT_EQ(std::string(buf), fed::kUserIdOid);
  EXPECT_EQ(std::string(fed::kGrantIdOid), std::string(fed::kOidArc) + ".1");
  EXPECT_EQ(std::string(fed::kUserIdOid), std::string(fed::kOidArc) + ".2");
  EXPECT_EQ(fed::grant_id_nid(), fed::grant_id_nid());  // registered once
}

TEST(PeerId, Grammar) {
  for (std::string good :
       {std::string("fabric-b"), std::string("b"), std::string("Fabric.B_2"), std::string(59, 'a')})
    EXPECT_TRUE(fed::check_peer_id(good)) << good;
  const std::string too_long(60, 'a');
  for (std::string bad :
       {std::string(), std::string("fabric/b"), std::string("fabric:b"), std::string("fabric b"),
        std::string("-fabric"), std::string("a\nb"), std::string("a\0b", 3),
        std::string("caf\xc3\xa9"), too_long, std::string("..")}) {
    auto r = fed::parse_peer_id(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().message.find("peer id"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(fed::peer_urn("fabric-b"), "urn:fabricbios:peer:fabric-b");
  auto id = identity_from_urn("urn:fabricbios:peer:fabric-b");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->role, Role::peer);
  EXPECT_FALSE(identity_from_urn("urn:fabricbios:peer:fabric/b"));
}

TEST(GrantFields, Grammar) {
  EXPECT_TRUE(fed::check_grant_field("6f1c2a9e-0000", "grant id"));
  EXPECT_TRUE(fed::check_grant_field("us\xc3\xa9r", "user id"));
  for (std::string bad : {std::string(), std::string(129, 'x'), std::string("a\tb"),
                          std::string("\xc3"), std::string("\xed\xa0\x80")}) {
    auto r = fed::check_grant_field(bad, "user id");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("user id"), std::string::npos);
  }
}

TEST(Intermediate, Profile) {
  Fabric f;
  X509* c = f.intermediate.get();
  EXPECT_EQ(X509_check_ca(c), 1);
  EXPECT_EQ(X509_get_pathlen(c), 0);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(ekus(c), std::vector<int>{NID_client_auth});
  EXPECT_EQ(san_strings(c), std::vector<std::string>{"URI:urn:fabricbios:enrollment-intermediate"});
  EXPECT_EQ(verify_error(c, c, f.root.get(), X509_PURPOSE_ANY), 0);
  // The linter refuses an intermediate profile with another pathLen or a server EKU.
  auto issuer = Issuer::create(X509Ptr(X509_dup(f.root.get())), signer_for(f.root_key.get()));
  Profile p = profile_for(make_intermediate_identity());
  p.path_len = 1;
  auto bad = issuer->issue_with_profile(make_intermediate_identity(), p, f.int_key.get(), 30);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::policy);
  p = profile_for(make_intermediate_identity());
  p.eku_nids = {NID_client_auth, NID_server_auth};
  bad = issuer->issue_with_profile(make_intermediate_identity(), p, f.int_key.get(), 30);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::policy);
}

TEST(Intermediate, CannotIssueAServerCertificateThatVerifies) {
  Fabric f;
  Issuer issuer = f.enrollment_issuer();
  auto key = keygen("P-256");
  auto server = issuer.issue(*make_server_identity({"127.0.0.1"}), key.get(), 30);
  ASSERT_TRUE(server) << server.error().message;
  X509Ptr s = reread(server->get());
  EXPECT_EQ(verify_error(s.get(), f.intermediate.get(), f.root.get(), X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_INVALID_PURPOSE);
}

TEST(PeerCertificate, IssuedAndChecked) {
  Fabric f;
  Issuer issuer = f.enrollment_issuer();
  auto req = csr_for("fabric-b");
  auto cert = fed::issue_peer_certificate(issuer, req.get(), grant());
  ASSERT_TRUE(cert) << cert.error().message;
  X509Ptr c = reread(cert->get());
  EXPECT_EQ(san_strings(c.get()), std::vector<std::string>{"URI:urn:fabricbios:peer:fabric-b"});
  EXPECT_EQ(ekus(c.get()), std::vector<int>{NID_client_auth});
  EXPECT_EQ(X509_check_ca(c.get()), 0);
  for (int nid : {fed::grant_id_nid(), fed::user_id_nid()}) {
    int at = X509_get_ext_by_NID(c.get(), nid, -1);
    ASSERT_GE(at, 0);
    EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(c.get(), at)), 0);
  }
  EXPECT_LE(not_after(c.get()), grant().not_after);
  EXPECT_GE(not_after(c.get()), grant().not_after - 5);
  auto info =
      fed::check_peer_certificate(c.get(), {f.intermediate.get()}, f.root.get(), expected());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->peer_id, "fabric-b");
  EXPECT_EQ(info->grant_id, "6f1c2a9e-grant");
  EXPECT_EQ(info->user_id, "user-42");
  EXPECT_EQ(info->not_after, not_after(c.get()));
  EXPECT_EQ(info->fingerprint_sha256, x509_sha256_fingerprint(c.get()));
  EXPECT_EQ(info->serial, serial_hex(c.get()));
  // The server side reads the same without the chain.
  auto read = fed::read_peer_certificate(c.get());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->grant_id, "6f1c2a9e-grant");
}

TEST(PeerCertificate, NeverOutlivesTheIntermediate) {
  Fabric f(3650, 10);
  Issuer issuer = f.enrollment_issuer();
  auto req = csr_for("fabric-b");
  auto cert = fed::issue_peer_certificate(issuer, req.get(), grant(365));
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(not_after(cert->get()), not_after(f.intermediate.get()));
}

TEST(PeerCertificate, RefusesAnExpiredGrantBadFieldsAndBadCsrs) {
  Fabric f;
  Issuer issuer = f.enrollment_issuer();
  auto req = csr_for("fabric-b");
  auto g = grant();
  g.not_after = std::time(nullptr) - 1;
  auto r = fed::issue_peer_certificate(issuer, req.get(), g);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("expired"), std::string::npos);
  g = grant();
  g.peer_id = "fabric/b";
  EXPECT_FALSE(fed::issue_peer_certificate(issuer, req.get(), g));
  g = grant();
  g.user_id = "";
  EXPECT_FALSE(fed::issue_peer_certificate(issuer, req.get(), g));
  // A CSR whose signature does not verify.
  X509ReqPtr forged(X509_REQ_dup(req.get()));
  auto other = keygen("P-256");
  X509_REQ_set_pubkey(forged.get(), other.get());
  r = fed::issue_peer_certificate(issuer, forged.get(), grant());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_NE(r.error().message.find("signature does not verify"), std::string::npos);
  // A key outside the policy (P-521).
  auto weak = keygen("P-521");
  X509ReqPtr w(X509_REQ_new());
  X509_REQ_set_pubkey(w.get(), weak.get());
  X509_REQ_sign(w.get(), weak.get(), EVP_sha256());
  r = fed::issue_peer_certificate(issuer, w.get(), grant());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not allowed"), std::string::npos);
}

TEST(PeerCertificate, LinterRefusesAPeerWithoutTheExtensions) {
  Fabric f;
  Issuer issuer = f.enrollment_issuer();
  auto key = keygen("P-256");
  auto r = issuer.issue(*fed::make_peer_identity("fabric-b"), key.get(), 30);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::policy);
  EXPECT_NE(r.error().message.find("missing extension grafosGrantId"), std::string::npos)
      << r.error().message;
}

TEST(PeerCertificate, TestHookIssuesWrongOidsThatTheCheckRefuses) {
  Fabric f;
  Issuer issuer = f.enrollment_issuer();
  auto req = csr_for("fabric-b");
  fed::PeerGrant wrong = grant();
  wrong.grant_id = "another-grant";
  auto cert =
      fed::issue_peer_certificate_with_extensions_for_test(issuer, req.get(), grant(), wrong);
  ASSERT_TRUE(cert) << cert.error().message;
  X509Ptr c = reread(cert->get());
  auto r = fed::check_peer_certificate(c.get(), {f.intermediate.get()}, f.root.get(), expected());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_NE(r.error().message.find("grant id extension is 'another-grant', expected "
                                   "'6f1c2a9e-grant'"),
            std::string::npos)
      << r.error().message;
  wrong = grant();
  wrong.user_id = "user-43";
  cert = fed::issue_peer_certificate_with_extensions_for_test(issuer, req.get(), grant(), wrong);
  ASSERT_TRUE(cert);
  c = reread(cert->get());
  r = fed::check_peer_certificate(c.get(), {f.intermediate.get()}, f.root.get(), expected());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("subject user id extension is 'user-43'"), std::string::npos);
}

TEST(PeerCertificate, EachCheckFailureHasItsOwnMessage) {
  Fabric f;
  Issuer issuer = f.enrollment_issuer();
  auto req = csr_for("fabric-b");
  auto cert = fed::issue_peer_certificate(issuer, req.get(), grant());
  ASSERT_TRUE(cert);
  X509Ptr good = reread(cert->get());
  std::set<std::string> messages;
  auto refuse = [&](X509* c, std::vector<X509*> chain, X509* root, fed::ExpectedPeer e, Errc code,
                    std::string_view needle) {
    auto r = fed::check_peer_certificate(c, chain, root, e);
    ASSERT_FALSE(r) << needle;
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_TRUE(messages.insert(r.error().message).second) << r.error().message;
  };
  // Another fabric's root, and a missing intermediate.
  Fabric other;
  refuse(good.get(), {f.intermediate.get()}, other.root.get(), expected(), Errc::crypto,
         "does not verify to the pinned CA");
  messages.clear();  // a missing intermediate reads like a foreign root: no path to the pin
  refuse(good.get(), {}, f.root.get(), expected(), Errc::crypto, "unable to get local issuer");
  auto e = expected();
  e.peer_id = "fabric-c";
  refuse(good.get(), {f.intermediate.get()}, f.root.get(), e, Errc::invalid_input,
         "names peer 'fabric-b', expected 'fabric-c'");
  e = expected();
  e.grant_id = "g2";
  refuse(good.get(), {f.intermediate.get()}, f.root.get(), e, Errc::invalid_input,
         "grant id extension is");
  e = expected();
  e.user_id = "u2";
  refuse(good.get(), {f.intermediate.get()}, f.root.get(), e, Errc::invalid_input,
         "subject user id extension is");
  // Forged by the intermediate's key: an extension removed, duplicated, made critical, or not a
  // UTF8String.
  X509Ptr missing(X509_dup(good.get()));
  X509_EXTENSION_free(
      X509_delete_ext(missing.get(), X509_get_ext_by_NID(missing.get(), fed::user_id_nid(), -1)));
  resign(missing.get(), f.int_key.get());
  refuse(missing.get(), {f.intermediate.get()}, f.root.get(), expected(), Errc::invalid_input,
         "has no subject user id extension");
  X509Ptr dup(X509_dup(good.get()));
  X509_add_ext(dup.get(),
               X509_get_ext(good.get(), X509_get_ext_by_NID(good.get(), fed::grant_id_nid(), -1)),
               -1);
  resign(dup.get(), f.int_key.get());
  refuse(dup.get(), {f.intermediate.get()}, f.root.get(), expected(), Errc::invalid_input,
         "grant id extension (" + std::string(fed::kGrantIdOid) + ") more than once");
  X509Ptr not_utf8(X509_dup(good.get()));
  {
    ASN1_OCTET_STRING* raw = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(raw, reinterpret_cast<const unsigned char*>("\x04\x02hi"), 4);
    X509_EXTENSION* ext =
        X509_get_ext(not_utf8.get(), X509_get_ext_by_NID(not_utf8.get(), fed::grant_id_nid(), -1));
    X509_EXTENSION_set_data(ext, raw);
    ASN1_OCTET_STRING_free(raw);
  }
  resign(not_utf8.get(), f.int_key.get());
  refuse(not_utf8.get(), {f.intermediate.get()}, f.root.get(), expected(), Errc::invalid_input,
         "grant id extension is not one UTF8String");
  // Another key than the request's.
  auto other_key = keygen("P-256");
  e = expected();
  e.public_key = other_key.get();
  refuse(good.get(), {f.intermediate.get()}, f.root.get(), e, Errc::invalid_input,
         "certifies another key");
  e.public_key = X509_get0_pubkey(good.get());
  EXPECT_TRUE(fed::check_peer_certificate(good.get(), {f.intermediate.get()}, f.root.get(), e));
  // A tenant certificate of the same fabric is not a peer.
  auto tkey = keygen("P-256");
  auto tenant = issuer.issue(*make_tenant_identity("acme"), tkey.get(), 30);
  ASSERT_TRUE(tenant);
  X509Ptr t = reread(tenant->get());
  refuse(t.get(), {f.intermediate.get()}, f.root.get(), expected(), Errc::invalid_input,
         "not a federation peer");
}

TEST(PeerKey, InMemoryKeyAndCsr) {
  auto k = fed::make_peer_key_and_csr("fabric-b");
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_TRUE(k->key_ref.empty());
  EXPECT_NE(k->private_key_pem.view().find("BEGIN PRIVATE KEY"), std::string_view::npos);
  auto pub = csr_public_key(k->csr_pem);  // signature and key policy
  ASSERT_TRUE(pub) << pub.error().message;
  auto req = fed::read_csr(k->csr_pem);
  ASSERT_TRUE(req);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req->get()), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "peer fabric-b");
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req->get());
  ASSERT_NE(exts, nullptr);
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(sans, nullptr);
  ASSERT_EQ(sk_GENERAL_NAME_num(sans), 1);
  const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, 0);
  ASSERT_EQ(gn->type, GEN_URI);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(
                ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier))),
            "urn:fabricbios:peer:fabric-b");
  GENERAL_NAMES_free(sans);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  // The private key is the CSR's.
  BioPtr bio(BIO_new_mem_buf(k->private_key_pem.view().data(),
                             static_cast<int>(k->private_key_pem.size())));
  EvpPkeyPtr priv(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(priv);
  EXPECT_TRUE(public_keys_equal(priv.get(), pub->get()));
  // Refusals.
  auto bad = fed::make_peer_key_and_csr("fabric/b");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_input);
  bad = fed::make_peer_key_and_csr("fabric-b", "/tmp/peer-key.pem");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::usage);
}

TEST(PeerKey, InASoftHsmToken) {
  test::SoftHsmToken hsm("peer-fabric", "1234");
  auto k = fed::make_peer_key_and_csr("fabric-b", hsm.uri("peer-key"));
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_TRUE(k->private_key_pem.empty());
  EXPECT_EQ(k->key_ref, hsm.uri("peer-key"));
  auto pub = csr_public_key(k->csr_pem);
  ASSERT_TRUE(pub) << pub.error().message;
  // A server keeps one key manager for the token: through it, a second key of the same name is
  // refused and the first one is untouched; a new name works.
  auto km = hsm::open_key_manager(k->key_ref, {});
  ASSERT_TRUE(km);
  auto tok_pub = (*km)->get_public_key(k->key_ref);
  ASSERT_TRUE(tok_pub) << tok_pub.error().message;
  EXPECT_TRUE(public_keys_equal(tok_pub->get(), pub->get()));
  auto again = fed::make_peer_key_and_csr("fabric-b", **km, hsm.uri("peer-key"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::exists);
  auto still = (*km)->get_public_key(k->key_ref);
  ASSERT_TRUE(still) << still.error().message;
  EXPECT_TRUE(public_keys_equal(still->get(), pub->get()));
  auto second = fed::make_peer_key_and_csr("fabric-c", **km, hsm.uri("peer-key-c"));
  ASSERT_TRUE(second) << second.error().message;
  auto pub_c = csr_public_key(second->csr_pem);
  ASSERT_TRUE(pub_c);
  auto tok_c = (*km)->get_public_key(hsm.uri("peer-key-c"));
  ASSERT_TRUE(tok_c) << tok_c.error().message;
  EXPECT_TRUE(public_keys_equal(tok_c->get(), pub_c->get()));
  // Refused through a manager of another backend.
  test::TempDir dir;
  auto file_km = hsm::open_key_manager((dir.path() / "k.pem").string(), {});
  ASSERT_TRUE(file_km);
  auto wrong = fed::make_peer_key_and_csr("fabric-b", **file_km, (dir.path() / "k.pem").string());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::usage);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "k.pem"));
}

TEST(CaFingerprint, LowercaseHexOfTheDer) {
  Fabric f;
  std::string fp = fed::ca_fingerprint_sha256(f.root.get());
  ASSERT_EQ(fp.size(), 64u);
  for (char c : fp) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  unsigned char md[32];
  unsigned int len = 0;
  X509_digest(f.root.get(), EVP_sha256(), md, &len);
  EXPECT_EQ(fp.substr(0, 2), [&] {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[0]);
    return std::string(b);
  }());
  EXPECT_EQ(fed::ca_fingerprint_sha256(nullptr), "");
}

}  // namespace
