// hsm/token_init: the PIN file rules and the key URI it prints (parsed back by the URI parser),
// table-driven; the token initialisation itself runs against SoftHSMv2 and swtpm in
// tests/cli/token_init_test.sh.
#include "hsm/token_init.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "hsm/uri.hpp"
#include "tests/support/fixtures.hpp"

namespace grafos::hsm {
namespace {

std::string write_pin(const test::TempDir& dir, const std::string& name, const std::string& body,
                      mode_t mode) {
  std::string path = (dir.path() / name).string();
  std::ofstream(path) << body;
  ::chmod(path.c_str(), mode);
  return path;
}

TEST(ReadPrivatePinFile, AcceptsOwnerOnlyFilesAndStripsTheLineEnd) {
  test::TempDir dir;
  struct Case {
    const char* body;
    mode_t mode;
    const char* want;
  };
  for (const Case& c :
       {Case{"1234\n", 0600, "1234"}, Case{"1234\r\nrest\n", 0600, "1234"},
        Case{"5678", 0400, "5678"}, Case{"pin with space\n", 0600, "pin with space"}}) {
    auto r = read_private_pin_file(write_pin(dir, "pin", c.body, c.mode));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->view(), c.want);
  }
}

TEST(ReadPrivatePinFile, RefusesWhatOthersMayReadEmptyAndMissing) {
  test::TempDir dir;
  struct Case {
    const char* body;
    mode_t mode;
    Errc code;
    const char* says;
  };
  for (const Case& c : {Case{"1234\n", 0644, Errc::invalid_input, "has mode 0644"},
                        Case{"1234\n", 0640, Errc::invalid_input, "has mode 0640"},
                        Case{"1234\n", 0604, Errc::invalid_input, "has mode 0604"},
                        Case{"\n", 0600, Errc::invalid_input, "is empty"},
                        Case{"", 0600, Errc::invalid_input, "is empty"}}) {
    auto r = read_private_pin_file(write_pin(dir, "pin", c.body, c.mode));
    ASSERT_FALSE(r) << c.says;
    EXPECT_EQ(r.error().code, c.code) << c.says;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("1234"), std::string::npos) << "the PIN is in the message";
  }
  auto missing = read_private_pin_file((dir.path() / "missing.pin").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::file_missing);
  auto directory = read_private_pin_file(dir.path().string());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, Errc::invalid_input);
}

TEST(Pkcs11KeyUri, ParsesBackToWhatWasGiven) {
  struct Case {
    const char* module;
    const char* label;
    const char* object;
    const char* pin_file;
  };
  for (const Case& c :
       {Case{"/usr/lib/softhsm/libsofthsm2.so", "fabric-ca", "ca-key", "/run/ca.pin"},
        Case{"/opt/hsm lib/p11.so", "ca; test?", "key/1&2", "/run/pins/a&b.pin"},
        Case{"/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1", "tpm-ca", "ca-key", ""},
        Case{"/m.so", "caf\xc3\xa9%", "k=1", "/p#?.pin"}}) {
    const std::string uri = pkcs11_key_uri(c.module, c.label, c.object, c.pin_file);
    auto parsed = parse_pkcs11_uri(uri);
    ASSERT_TRUE(parsed) << uri << ": " << parsed.error().message;
    EXPECT_EQ(parsed->module_path, c.module) << uri;
    EXPECT_EQ(parsed->token.value_or(""), c.label) << uri;
    EXPECT_EQ(parsed->object.value_or(""), c.object) << uri;
    if (*c.pin_file)
      EXPECT_EQ(parsed->pin_file.value_or(""), c.pin_file) << uri;
    else
      EXPECT_FALSE(parsed->pin_file) << uri;
  }
  EXPECT_EQ(pkcs11_key_uri("/usr/lib/softhsm/libsofthsm2.so", "fabric-ca", "ca-key", "/run/ca.pin"),
            "pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so"
            "&pin-source=file:/run/ca.pin");
}

TEST(InitPkcs11Token, RefusesBadLabelsAndEmptyPinsBeforeLoadingTheModule) {
  // The module path does not exist: these refusals come before it would be loaded.
  struct Case {
    std::string label;
    const char* so;
    const char* pin;
    const char* says;
  };
  for (const Case& c :
       {Case{"", "1", "2", "1 to 32 bytes"}, Case{std::string(33, 'x'), "1", "2", "1 to 32 bytes"},
        Case{"ok", "", "2", "empty PIN"}, Case{"ok", "1", "", "empty PIN"}}) {
    TokenInitRequest req{"/nonexistent/module.so", c.label, SecretString(std::string(c.so)),
                         SecretString(std::string(c.pin))};
    auto r = init_pkcs11_token(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::usage);
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace grafos::hsm
