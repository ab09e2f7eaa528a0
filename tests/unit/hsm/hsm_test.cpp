// Unit tests of the hsm core: RFC 7512 URI parsing, key-reference classification and redaction,
// signature verification (DER and raw r||s).
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <optional>
#include <string>

#include "hsm/file/file_key_manager.hpp"
#include "hsm/key_manager.hpp"
#include "hsm/load_key.hpp"
#include "hsm/uri.hpp"
#include "tests/support/fixtures.hpp"

using namespace grafos;
using namespace grafos::hsm;

namespace {

struct UriCase {
  const char* uri;
  std::optional<std::string> token, object, serial, pin_file, module;
  std::optional<std::string> id_hex;
  std::optional<unsigned long> slot_id;
};

class UriParseTest : public ::testing::TestWithParam<UriCase> {};

TEST_P(UriParseTest, Parses) {
  const auto& c = GetParam();
  auto u = parse_pkcs11_uri(c.uri);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->token, c.token);
  EXPECT_EQ(u->object, c.object);
  EXPECT_EQ(u->serial, c.serial);
  EXPECT_EQ(u->pin_file, c.pin_file);
  EXPECT_EQ(u->module_path, c.module.value_or(""));
  EXPECT_EQ(u->slot_id, c.slot_id);
  if (c.id_hex) {
    ASSERT_TRUE(u->id);
    EXPECT_EQ(to_hex(*u->id), *c.id_hex);
  } else {
    EXPECT_FALSE(u->id);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rfc7512, UriParseTest,
    ::testing::Values(
        UriCase{"pkcs11:", {}, {}, {}, {}, {}, {}, {}},
        UriCase{"pkcs11:token=fabric-ca;object=ca-key", "fabric-ca", "ca-key", {}, {}, {}, {}, {}},
        UriCase{"PKCS11:token=a", "a", {}, {}, {}, {}, {}, {}},
        UriCase{"pkcs11:token=My%20Token;object=k%3Bey", "My Token", "k;ey", {}, {}, {}, {}, {}},
        UriCase{"pkcs11:id=%01%02%ff", {}, {}, {}, {}, {}, "0102ff", {}},
        UriCase{"pkcs11:serial=7eb420f680e420b0;slot-id=3",
                {},
                {},
                "7eb420f680e420b0",
                {},
                {},
                {},
                3ul},
        UriCase{"pkcs11:object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/"
                "run/ca.pin",
                {},
                "k",
                {},
                "/run/ca.pin",
                "/usr/lib/softhsm/libsofthsm2.so",
                {},
                {}},
        UriCase{"pkcs11:object=k?pin-source=file:///run/ca.pin",
                {},
                "k",
                {},
                "/run/ca.pin",
                {},
                {},
                {}},
        UriCase{"pkcs11:object=k;x-vendor=1?x-other=2", {}, "k", {}, {}, {}, {}, {}}));

struct BadUri {
  const char* uri;
  const char* rule;  // a fragment the error must contain
};

class UriRefuseTest : public ::testing::TestWithParam<BadUri> {};

TEST_P(UriRefuseTest, RefusesWithTheRule) {
  auto u = parse_pkcs11_uri(GetParam().uri);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, Errc::invalid_input);
  EXPECT_NE(u.error().message.find(GetParam().rule), std::string::npos) << u.error().message;
  EXPECT_EQ(u.error().message.find("s3cret"), std::string::npos) << "the PIN leaked";
}

INSTANTIATE_TEST_SUITE_P(
    Rfc7512, UriRefuseTest,
    ::testing::Values(BadUri{"file:/x", "must start with 'pkcs11:'"},
                      BadUri{"pkcs11:token=a;token=b", "appears more than once"},
                      BadUri{"pkcs11:colour=red", "unknown path attribute 'colour'"},
                      BadUri{"pkcs11:token", "has no '='"},
                      BadUri{"pkcs11:token=a;;object=b", "empty path attribute"},
                      BadUri{"pkcs11:token=a%zz", "two hex digits"},
                      BadUri{"pkcs11:token=a%4", "two hex digits"},
                      BadUri{"pkcs11:token=a b", "percent-encoded"},
                      BadUri{"pkcs11:slot-id=x1", "slot-id= must be a decimal number"},
                      BadUri{"pkcs11:id=", "id= must not be empty"},
                      BadUri{"pkcs11:type=banana", "type= must be one of"},
                      BadUri{"pkcs11:?pin-source=|/bin/cat", "pin-source= must be a file: URI"},
                      BadUri{"pkcs11:?pin-source=env:PIN", "pin-source= must be a file: URI"},
                      BadUri{"pkcs11:?pin-source=file://otherhost/pin", "local path"},
                      BadUri{"pkcs11:?pin-source=file:/a&pin-value=s3cret", "must not both"},
                      BadUri{"pkcs11:?pin-value=s3cret%zz", "pin-value= has a malformed"},
                      BadUri{"pkcs11:?module-path=relative.so", "absolute path"},
                      BadUri{"pkcs11:?foo=1", "unknown query attribute 'foo'"},
                      BadUri{"pkcs11:token=a#frag", "fragment"},
                      BadUri{"pkcs11:?pin-value=s3cret&pin-value=s3cret", "more than once"}));

TEST(UriParse, PinValueIsKeptAsASecret) {
  auto u = parse_pkcs11_uri("pkcs11:object=k?pin-value=12%2034");
  ASSERT_TRUE(u);
  ASSERT_TRUE(u->pin_value);
  EXPECT_EQ(u->pin_value->view(), "12 34");
}

TEST(PercentDecode, DecodesAndRefuses) {
  EXPECT_EQ(*percent_decode("a%2Fb%2f"), "a/b/");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%g0"));
}

struct RedactCase {
  const char* in;
  const char* out;
};
class RedactTest : public ::testing::TestWithParam<RedactCase> {};
TEST_P(RedactTest, ReplacesPinValueAndNeverShowsASecret) {
  std::string shown = redact_key_ref(GetParam().in);
  EXPECT_EQ(shown, GetParam().out);
  // Every secret in the table is spelled SECRET...; none may survive, in any case.
  std::string lower = shown;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(lower.find("secret"), std::string::npos) << shown;
}
INSTANTIATE_TEST_SUITE_P(
    Refs, RedactTest,
    ::testing::Values(
        RedactCase{"ca/ca-key.pem", "ca/ca-key.pem"},
        RedactCase{"pkcs11:token=a", "pkcs11:token=a"},
        RedactCase{"pkcs11:token=a?pin-value=SECRET", "pkcs11:token=a?pin-value=<redacted>"},
        RedactCase{"pkcs11:token=a?module-path=/m.so&pin-value=SECRET",
                   "pkcs11:token=a?module-path=/m.so&pin-value=<redacted>"},
        RedactCase{"pkcs11:token=a?pin-value=SECRET&module-path=/m.so",
                   "pkcs11:token=a?pin-value=<redacted>&module-path=/m.so"},
        RedactCase{"pkcs11:token=a?pin-source=file:/p", "pkcs11:token=a?pin-source=file:/p"},
        RedactCase{"pkcs11:token=a;object=k%3Bey;x-v=1?x-q=2",
                   "pkcs11:token=a;object=k%3Bey;x-v=1?x-q=2"},
        // The first part holds the scheme: it is still an attribute.
        RedactCase{"pkcs11:pin-value=SECRET1;token=x?module-path=/m.so",
                   "pkcs11:pin-value=<redacted>;token=x?module-path=/m.so"},
        // The parser keeps ';' inside a query value: the whole value goes.
        RedactCase{"pkcs11:token=x?module-path=/m.so&pin-value=AB;SECRET2",
                   "pkcs11:token=x?module-path=/m.so&pin-value=<redacted>"},
        // A second '?' (the parser refuses it): nothing after the scheme is shown.
        RedactCase{"pkcs11:token=x?pin-value=AB?SECRET3", "pkcs11:<redacted>"},
        // Names in any case and percent-encoding.
        RedactCase{"pkcs11:token=x?Pin-value=SECRET", "pkcs11:token=x?pin-value=<redacted>"},
        RedactCase{"pkcs11:token=x?PIN-VALUE=SECRET", "pkcs11:token=x?pin-value=<redacted>"},
        RedactCase{"pkcs11:token=x?pin%2Dvalue=SECRET", "pkcs11:token=x?pin-value=<redacted>"},
        RedactCase{"pkcs11:token=x?%70in-value=SECRET", "pkcs11:token=x?pin-value=<redacted>"},
        RedactCase{"pkcs11:token=x;pin%2dvalue=SECRET", "pkcs11:token=x;pin-value=<redacted>"},
        // The scheme in any case.
        RedactCase{"PKCS11:token=x?module-path=/nonexistent&pin-value=SECRET4",
                   "PKCS11:token=x?module-path=/nonexistent&pin-value=<redacted>"},
        RedactCase{"Pkcs11:token=x?pin-value=SECRET", "Pkcs11:token=x?pin-value=<redacted>"},
        // In doubt: a PIN with an unencoded '&' or ';' leaves a part without '=' or a name the
        // parser does not know; a fragment; an empty part; a name that does not decode.
        RedactCase{"pkcs11:token=x?pin-value=AB&SECRET", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:token=x?pin-value=AB&SECRET=1", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:token=x?pin-value=AB&token=SECRET", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:pin-value=AB;SECRET?module-path=/m.so", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:token=x?pin_value=SECRET", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:token=x?pin-value=SECRET#frag", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:token=x?pin-value=SECRET&&", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:token=x?pin%zzvalue=SECRET", "pkcs11:<redacted>"},
        RedactCase{"pkcs11:SECRET", "pkcs11:<redacted>"}));

// Parser errors never echo what may be the tail of a PIN holding an unencoded '&'.
TEST(UriParse, ErrorAfterPinValueDoesNotEchoTheRest) {
  const char* cases[] = {"pkcs11:token=a?pin-value=ab&SECRET=cd",
                         "pkcs11:token=a?pin-value=ab&SECRET", "pkcs11:token=a?pin-value=ab?SECRET",
                         "pkcs11:token=a?pin-value=ab&pin-value=SECRET"};
  for (const char* uri : cases) {
    auto u = parse_pkcs11_uri(uri);
    ASSERT_FALSE(u) << uri;
    EXPECT_EQ(u.error().code, Errc::invalid_input);
    EXPECT_EQ(u.error().message.find("SECRET"), std::string::npos) << u.error().message;
    EXPECT_EQ(u.error().message.find("ab"), std::string::npos) << u.error().message;
  }
}

TEST(Classify, ByReferenceForm) {
  grafos::test::TempDir d;
  EXPECT_EQ(classify_key_ref("pkcs11:token=a"), Backend::pkcs11);
  // The scheme in any case, as the parser accepts it: never a file path.
  for (const char* ref : {"PKCS11:token=a", "Pkcs11:token=a", "pKcS11:",
                          "PKCS11:token=x?module-path="
                          "/nonexistent&pin-value=S"})
    EXPECT_EQ(classify_key_ref(ref), Backend::pkcs11) << ref;
  EXPECT_TRUE(parse_pkcs11_uri("PKCS11:token=a"));
  EXPECT_EQ(classify_key_ref("pkcs11"), Backend::file);
  EXPECT_EQ(classify_key_ref("pkcs1:token=a"), Backend::file);
  EXPECT_EQ(classify_key_ref("handle:0x81000010"), Backend::tpm);
  EXPECT_EQ(classify_key_ref((d.path() / "new.pem").string()), Backend::file);
  EXPECT_EQ(classify_key_ref((d.path() / "new.tss2.pem").string()), Backend::tpm);
  auto tss = d.path() / "k.pem";
  grafos::test::write_private_file(tss, "-----BEGIN TSS2 PRIVATE KEY-----\nAA==\n");
  EXPECT_EQ(classify_key_ref(tss.string()), Backend::tpm);
  auto plain = d.path() / "p.tss2.pem";  // exists and is not TSS2: file
  grafos::test::write_private_file(plain, "-----BEGIN PRIVATE KEY-----\n");
  EXPECT_EQ(classify_key_ref(plain.string()), Backend::file);
  EXPECT_EQ(backend_name(Backend::tpm), "tpm");
}

// ---- file backend: what it refuses ----

std::string unique_env(const char* base) {
  static int n = 0;
  return std::string(base) + "_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
}

// An empty passphrase would write an "ENCRYPTED PRIVATE KEY" that opens with an empty password.
TEST(FileBackend, EmptyPassphraseIsRefusedAndNothingIsWritten) {
  grafos::test::TempDir d;
  grafos::test::write_private_file(d.path() / "empty.pass", "");
  grafos::test::write_private_file(d.path() / "newline.pass", "\n");
  const struct {
    const char* what;
    std::string env_value;  // set (possibly empty) when file is empty
    std::string file;
    const char* source;  // fragment naming the source
  } cases[] = {
      {"empty variable", "", "", "environment variable"},
      {"empty file", "", (d.path() / "empty.pass").string(), "empty.pass"},
      {"file with only a newline", "", (d.path() / "newline.pass").string(), "newline.pass"},
  };
  for (const auto& c : cases) {
    Interaction in;
    in.passphrase_env = unique_env("GRAFOS_TEST_PASS");
    if (c.file.empty())
      ::setenv(in.passphrase_env.c_str(), c.env_value.c_str(), 1);
    else
      in.passphrase_file = c.file;
    auto km = make_file_key_manager(in);
    auto key = d.path() / "key.pem";
    auto s = km->create_key({.ref = key.string(), .replace = false, .label = {}});
    ASSERT_FALSE(s) << c.what;
    EXPECT_EQ(s.error().code, Errc::pin) << c.what;
    EXPECT_NE(s.error().message.find("is empty"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find(c.source), std::string::npos) << s.error().message;
    EXPECT_FALSE(std::filesystem::exists(key)) << c.what << ": a key file was written";
    ::unsetenv(in.passphrase_env.c_str());
  }
}

TEST(FileBackend, KeyEncryptedWithAnEmptyPasswordIsNotOpenedWithOne) {
  grafos::test::TempDir d;
  auto key = generate_p256_key();
  ASSERT_TRUE(key);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key->get(), EVP_aes_256_cbc(), "", 0, nullptr,
                                          nullptr),
            1);
  auto path = d.path() / "weak.pem";
  grafos::test::write_private_file(path, bio_to_string(bio.get()));
  Interaction env_in;
  env_in.passphrase_env = unique_env("GRAFOS_TEST_PASS");
  ::setenv(env_in.passphrase_env.c_str(), "", 1);
  Interaction prompt_in;
  prompt_in.passphrase_env = unique_env("GRAFOS_TEST_PASS_UNSET");
  prompt_in.prompt_secret = [](std::string_view) -> Result<SecretString> {
    return SecretString();  // Ctrl-D at the prompt
  };
  for (const Interaction* in : {&env_in, &prompt_in}) {
    auto s = make_file_key_manager(*in)->create_signer(path.string());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::pin);
    EXPECT_NE(s.error().message.find("is empty"), std::string::npos) << s.error().message;
  }
  ::unsetenv(env_in.passphrase_env.c_str());
}

// A pkcs11: URI in any case is never a path: neither routed to the file backend nor accepted by
// it (before the fix, init-ca wrote the CA key under a file named after the URI and its PIN).
TEST(FileBackend, Pkcs11UriInAnyCaseIsNeverAPath) {
  const char* refs[] = {"PKCS11:token=x?module-path=/nonexistent/lib.so&pin-value=SECRET4",
                        "Pkcs11:token=x?module-path=/nonexistent/lib.so&pin-value=SECRET4"};
  for (const char* ref : refs) {
    auto m = open_key_manager(ref, {});
    ASSERT_FALSE(m) << ref;
    EXPECT_EQ(m.error().code, Errc::key_backend) << m.error().message;
    EXPECT_EQ(m.error().message.find("SECRET4"), std::string::npos) << m.error().message;
    auto s = make_file_key_manager({})->create_key({.ref = ref, .replace = false, .label = {}});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::usage);
    EXPECT_NE(s.error().message.find("is a PKCS#11 URI"), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find("SECRET4"), std::string::npos) << s.error().message;
    EXPECT_FALSE(std::filesystem::exists(std::string(ref).substr(0, 27))) << "directory created";
  }
}

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
unsigned mode_of(const std::filesystem::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}
}  // namespace

// An encrypted key with no passphrase source and no terminal: a clear error that names the
// sources and no CLI flag (the tools add that context).
TEST(FileBackend, EncryptedKeyWithoutAPassphraseNamesTheSourcesNotAFlag) {
  grafos::test::TempDir d;
  Interaction make;
  make.passphrase_env = unique_env("GRAFOS_TEST_PASS");
  ::setenv(make.passphrase_env.c_str(), "correct horse", 1);
  auto path = d.path() / "enc.pem";
  ASSERT_TRUE(make_file_key_manager(make)->create_key(
      {.ref = path.string(), .replace = false, .label = {}}));
  ::unsetenv(make.passphrase_env.c_str());
  Interaction none;
  none.passphrase_env = unique_env("GRAFOS_TEST_PASS_UNSET");  // the first is kept in memory
  auto k = load_key({.ref = path.string(),
                     .certificate = nullptr,
                     .certificate_name = {},
                     .interaction = none,
                     .certificate_path = {}});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, Errc::pin);
  EXPECT_NE(k.error().message.find("no passphrase was given"), std::string::npos)
      << k.error().message;
  EXPECT_NE(k.error().message.find(none.passphrase_env), std::string::npos) << k.error().message;
  EXPECT_EQ(k.error().message.find("--"), std::string::npos) << k.error().message;
}

// init-ca makes its file key through create_key: a symbolic link at the key path is never written
// through (replace or not), an existing file is refused without replace, and nothing is written.
TEST(FileBackend, CreateKeyRefusesASymlinkAndAnExistingFile) {
  grafos::test::TempDir d;
  auto target = d.path() / "stolen.pem";
  auto link = d.path() / "ca-key.pem";
  std::filesystem::create_symlink(target, link);
  for (bool replace : {false, true}) {
    auto s = make_file_key_manager({})->create_key(
        {.ref = link.string(), .replace = replace, .label = {}});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::invalid_input) << s.error().message;
    EXPECT_NE(s.error().message.find("symbolic link"), std::string::npos) << s.error().message;
    EXPECT_FALSE(std::filesystem::exists(target)) << "written through the link";
    EXPECT_TRUE(std::filesystem::is_symlink(link));
  }
  auto existing = d.path() / "existing.pem";
  grafos::test::write_private_file(existing, "old");
  auto s = make_file_key_manager({})->create_key(
      {.ref = existing.string(), .replace = false, .label = {}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::exists);
  EXPECT_EQ(s.error().message.find("--"), std::string::npos) << "no flag: " << s.error().message;
  EXPECT_EQ(slurp(existing), "old");
}

// A key file replaced by create_key is put back, unchanged and 0600, by discard_created_key; the
// folders create_key made for a new key file are removed again.
TEST(FileBackend, DiscardPutsBackTheReplacedKeyAndRemovesTheFoldersItMade) {
  grafos::test::TempDir d;
  auto old_path = d.path() / "ca-key.pem";
  auto km = make_file_key_manager({});
  ASSERT_TRUE(km->create_key({.ref = old_path.string(), .replace = false, .label = {}}));
  const std::string before = slurp(old_path);
  auto replaced = km->create_key({.ref = old_path.string(), .replace = true, .label = {}});
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_NE(slurp(old_path), before);
  ASSERT_TRUE(km->discard_created_key());
  EXPECT_EQ(slurp(old_path), before);
  EXPECT_EQ(mode_of(old_path), 0600u);

  auto nested = d.path() / "a" / "b" / "ca-key.pem";
  auto made = km->create_key({.ref = nested.string(), .replace = false, .label = {}});
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(mode_of(nested), 0600u);
  ASSERT_TRUE(km->discard_created_key());
  EXPECT_FALSE(std::filesystem::exists(d.path() / "a")) << "the folders it made stay";
}

// load_key on key files: a missing file is Errc::file_missing, a file that is no key
// Errc::invalid_input, a key that does not match its certificate Errc::key_backend naming the
// reference and the certificate (and no flag); a matching key gives a signer and a TLS key.
TEST(LoadKey, FileKeys) {
  grafos::test::TempDir d;
  auto missing = load_key({.ref = (d.path() / "nope.pem").string(),
                           .certificate = nullptr,
                           .certificate_name = {},
                           .interaction = {},
                           .certificate_path = {}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::file_missing) << missing.error().message;
  EXPECT_EQ(missing.error().message.find("--"), std::string::npos) << missing.error().message;

  grafos::test::write_private_file(d.path() / "junk.pem", "not a key\n");
  auto junk = load_key({.ref = (d.path() / "junk.pem").string(),
                        .certificate = nullptr,
                        .certificate_name = {},
                        .interaction = {},
                        .certificate_path = {}});
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, Errc::invalid_input) << junk.error().message;

  auto key_path = d.path() / "k.pem";
  auto made = make_file_key_manager({})->create_key(
      {.ref = key_path.string(), .replace = false, .label = {}});
  ASSERT_TRUE(made);
  // A certificate over another key.
  auto other = generate_p256_key();
  ASSERT_TRUE(other);
  X509Ptr cert(X509_new());
  ASSERT_EQ(X509_set_pubkey(cert.get(), other->get()), 1);
  auto bad = load_key({.ref = key_path.string(),
                       .certificate = cert.get(),
                       .certificate_name = "the certificate 'x.pem'",
                       .interaction = {},
                       .certificate_path = {}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::key_backend);
  EXPECT_NE(bad.error().message.find("the key '" + key_path.string() +
                                     "' does not match the certificate 'x.pem'"),
            std::string::npos)
      << bad.error().message;
  ASSERT_EQ(X509_set_pubkey(cert.get(), (*made)->public_key()), 1);
  auto good = load_key({.ref = key_path.string(),
                        .certificate = cert.get(),
                        .certificate_name = {},
                        .interaction = {},
                        .certificate_path = {}});
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->backend, Backend::file);
  ASSERT_TRUE(good->private_key);
  EXPECT_TRUE(public_keys_equal(good->private_key.get(), (*made)->public_key()));

  // The certificate given as a PEM file (what grafos-registry's --cert is).
  auto cert_file = d.path() / "c.pem";
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_TRUE(bio);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("load-key"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  ASSERT_TRUE(X509_sign(cert.get(), other->get(), EVP_sha256()) > 0);
  ASSERT_EQ(PEM_write_bio_X509(bio.get(), cert.get()), 1);
  grafos::test::write_private_file(cert_file, bio_to_string(bio.get()));
  auto by_path = load_key({.ref = key_path.string(),
                           .certificate = nullptr,
                           .certificate_name = {},
                           .interaction = {},
                           .certificate_path = cert_file.string()});
  ASSERT_TRUE(by_path) << by_path.error().message;
  auto other_path = d.path() / "o.pem";
  ASSERT_TRUE(make_file_key_manager({})->create_key(
      {.ref = other_path.string(), .replace = false, .label = {}}));
  auto mismatch = load_key({.ref = other_path.string(),
                            .certificate = nullptr,
                            .certificate_name = {},
                            .interaction = {},
                            .certificate_path = cert_file.string()});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, Errc::key_backend);
  EXPECT_NE(
      mismatch.error().message.find("does not match the certificate '" + cert_file.string() + "'"),
      std::string::npos)
      << mismatch.error().message;
  auto no_cert = load_key({.ref = key_path.string(),
                           .certificate = nullptr,
                           .certificate_name = {},
                           .interaction = {},
                           .certificate_path = (d.path() / "none.pem").string()});
  ASSERT_FALSE(no_cert);
  EXPECT_EQ(no_cert.error().code, Errc::file_missing) << no_cert.error().message;
  auto junk_cert = load_key({.ref = key_path.string(),
                             .certificate = nullptr,
                             .certificate_name = {},
                             .interaction = {},
                             .certificate_path = (d.path() / "junk.pem").string()});
  ASSERT_FALSE(junk_cert);
  EXPECT_EQ(junk_cert.error().code, Errc::invalid_input) << junk_cert.error().message;
}

// DER signatures and raw r||s both verify; a wrong message or a truncated signature does not.
TEST(VerifySignature, DerAndRawForms) {
  auto key = generate_p256_key();
  ASSERT_TRUE(key);
  EvpSigner signer(EvpPkeyPtr(EVP_PKEY_dup(key->get())), "test");
  Bytes msg = {'m', 's', 'g'};
  auto der = signer.sign(msg);
  ASSERT_TRUE(der);
  EXPECT_TRUE(verify_signature(signer.public_key(), msg, *der));

  const unsigned char* p = der->data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(sig, nullptr);
  Bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  EXPECT_TRUE(verify_signature(signer.public_key(), msg, raw));

  Bytes other = {'m', 's', 'h'};
  EXPECT_FALSE(verify_signature(signer.public_key(), other, *der));
  EXPECT_FALSE(verify_signature(signer.public_key(), other, raw));
  raw[10] ^= 1;
  EXPECT_FALSE(verify_signature(signer.public_key(), msg, raw));
  Bytes truncated(der->begin(), der->end() - 1);
  EXPECT_FALSE(verify_signature(signer.public_key(), msg, truncated));
  auto empty = verify_signature(signer.public_key(), msg, Bytes{});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::crypto);
}

}  // namespace
