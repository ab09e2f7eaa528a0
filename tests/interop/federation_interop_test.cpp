// Interop of federation peer certificates: a root and an enrollment intermediate made by the
// built grafos-ca (issue-intermediate), a peer certificate issued with pki/federation from the
// intermediate's key file, then checked by the real openssl: `openssl verify -CAfile root.pem
// -untrusted intermediate.pem -purpose sslclient` accepts it, `openssl x509 -text` shows both
// custom OIDs with their values, and a server certificate the intermediate signs is refused for
// sslserver.
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pki/federation.hpp"
#include "pki/issuer.hpp"
#include "tests/support/fixtures.hpp"

namespace fs = std::filesystem;
using namespace grafos;
namespace fed = grafos::pki::federation;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

test::CommandResult grafos_ca(std::vector<std::string> args) {
  const char* exe = std::getenv("GRAFOS_CA");
  args.insert(args.begin(), exe ? exe : "grafos-ca");
  return test::run_command(args);
}

struct Enrollment {
  test::TempDir dir;
  fs::path root_pem, int_pem, int_key;
  std::optional<pki::Issuer> issuer;

  Enrollment() {
    auto r = grafos_ca({"init-ca", "--out", (dir.path() / "ca").string()});
    EXPECT_EQ(r.status, 0) << r.output;
    root_pem = dir.path() / "ca" / "ca.pem";
    r = grafos_ca({"issue-intermediate", "--ca-cert", root_pem.string(), "--ca-key",
                   (dir.path() / "ca" / "ca-key.pem").string(), "--out",
                   (dir.path() / "enroll").string()});
    EXPECT_EQ(r.status, 0) << r.output;
    int_pem = dir.path() / "enroll" / "intermediate.pem";
    int_key = dir.path() / "enroll" / "intermediate-key.pem";
    auto cert = x509_from_pem(slurp(int_pem));
    EXPECT_TRUE(cert);
    BioPtr bio(BIO_new_file(int_key.c_str(), "r"));
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    EXPECT_TRUE(key);
    auto i = pki::Issuer::create(
        std::move(*cert), std::make_unique<hsm::EvpSigner>(std::move(key), int_key.string()));
    EXPECT_TRUE(i) << i.error().message;
    issuer.emplace(std::move(*i));
  }
};

TEST(FederationInterop, OpensslAcceptsThePeerCertificateAndShowsTheOids) {
  Enrollment s;
  auto k = fed::make_peer_key_and_csr("fabric-b");
  ASSERT_TRUE(k) << k.error().message;
  auto csr = fed::read_csr(k->csr_pem);
  ASSERT_TRUE(csr);
  auto cert = fed::issue_peer_certificate(*s.issuer, csr->get(),
                                          {.peer_id = "fabric-b",
                                           .grant_id = "grant-7f3a",
                                           .user_id = "user-alice",
                                           .not_after = std::time(nullptr) + 30 * 86400});
  ASSERT_TRUE(cert) << cert.error().message;
  fs::path peer = s.dir.path() / "peer.pem";
  spit(peer, *x509_to_pem(cert->get()));

  auto v =
      test::run_command({"openssl", "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile",
                         s.root_pem.string(), "-untrusted", s.int_pem.string(), peer.string()});
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find(": OK"), std::string::npos) << v.output;
  // Without the intermediate there is no path.
  v = test::run_command({"openssl", "verify", "-CAfile", s.root_pem.string(), peer.string()});
  EXPECT_NE(v.status, 0) << v.output;

  auto text = test::run_command({"openssl", "x509", "-noout", "-text", "-in", peer.string()});
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.output.find(std::string(fed::kGrantIdOid) + ":"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find(std::string(fed::kUserIdOid) + ":"), std::string::npos);
  EXPECT_NE(text.output.find("grant-7f3a"), std::string::npos);
  EXPECT_NE(text.output.find("user-alice"), std::string::npos);
  EXPECT_NE(text.output.find("URI:urn:fabricbios:peer:fabric-b"), std::string::npos);
  EXPECT_NE(text.output.find("TLS Web Client Authentication"), std::string::npos);
  // Both extensions are non-critical, and each value is the DER of a UTF8String (tag 0x0c).
  auto parsed = test::run_command({"openssl", "asn1parse", "-in", peer.string()});
  ASSERT_EQ(parsed.status, 0);
  EXPECT_NE(parsed.output.find(std::string(fed::kGrantIdOid)), std::string::npos) << parsed.output;
  auto ext = test::run_command({"openssl", "x509", "-noout", "-in", peer.string(), "-ext",
                                "subjectAltName,extendedKeyUsage"});
  EXPECT_EQ(ext.output.find("critical"), std::string::npos) << ext.output;
  EXPECT_EQ(text.output.find(std::string(fed::kGrantIdOid) + ": critical"), std::string::npos);

  // The enrolling side's own check agrees with openssl.
  auto root = x509_from_pem(slurp(s.root_pem));
  auto inter = x509_from_pem(slurp(s.int_pem));
  auto reread = x509_from_pem(slurp(peer));
  auto info = fed::check_peer_certificate(
      reread->get(), {inter->get()}, root->get(),
      {.peer_id = "fabric-b", .grant_id = "grant-7f3a", .user_id = "user-alice"});
  ASSERT_TRUE(info) << info.error().message;
  auto fp = test::run_command(
      {"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", peer.string()});
  std::string hex;
  for (char c : fp.output.substr(fp.output.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(c)))
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  EXPECT_EQ(info->fingerprint_sha256, hex);
  EXPECT_EQ(fed::ca_fingerprint_sha256(root->get()).size(), 64u);
}

TEST(FederationInterop, TheIntermediateCannotIssueAServerCertificate) {
  Enrollment s;
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  auto id = pki::make_server_identity({"127.0.0.1"});
  ASSERT_TRUE(id);
  auto cert = s.issuer->issue(*id, key.get(), 30);
  ASSERT_TRUE(cert) << cert.error().message;
  fs::path server = s.dir.path() / "server.pem";
  spit(server, *x509_to_pem(cert->get()));
  auto v =
      test::run_command({"openssl", "verify", "-purpose", "sslserver", "-CAfile",
                         s.root_pem.string(), "-untrusted", s.int_pem.string(), server.string()});
  EXPECT_NE(v.status, 0) << v.output;
  EXPECT_NE(v.output.find("unsuitable certificate purpose"), std::string::npos) << v.output;
}

}  // namespace
