#include "pki/identity.hpp"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <vector>

#include "util/ossl.hpp"

using namespace grafos;
using namespace grafos::pki;

namespace {

struct NameCase {
  std::string input;
  bool valid;
  std::string rule_fragment;  // part of the message that names the broken rule
};

TEST(Identity, TenantGrammar) {
  const NameCase cases[] = {
      {"acme", true, ""},
      {"A", true, ""},
      {"0tenant", true, ""},
      {"a.b_c-d", true, ""},
      {std::string(63, 'a'), true, ""},
      {std::string(64, 'a'), false, "it has 64 characters"},
      {"", false, "it is empty"},
      {"-acme", false, "starting with a letter or digit"},
      {".acme", false, "starting with a letter or digit"},
      {"ac:me", false, "character ':' at position 3"},
      {"ac/me", false, "character '/'"},
      {"ac me", false, "byte 0x20"},
      {"ac\tme", false, "byte 0x09"},
      {"acme%41", false, "character '%'"},
      {"caf\xc3\xa9", false, "byte 0xc3"},
      {"ac\nme", false, "byte 0x0a"},
  };
  for (const auto& c : cases) {
    auto r = make_tenant_identity(c.input);
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (!c.valid && !r) {
      EXPECT_EQ(r.error().code, Errc::invalid_input);
      EXPECT_NE(r.error().message.find(c.rule_fragment), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("1-63 characters"), std::string::npos);
      EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
    }
  }
}

TEST(Identity, ProviderGrammar) {
  const NameCase cases[] = {
      {"aws", true, ""},
      {"gcp-europe-1", true, ""},
      {"0", true, ""},
      {std::string(63, 'p'), true, ""},
      {std::string(64, 'p'), false, "64 characters"},
      {"", false, "empty"},
      {"AWS", false, "character 'A'"},
      {"aws_1", false, "character '_'"},
      {"aws.x", false, "character '.'"},
      {"-aws", false, "starts or ends with '-'"},
      {"aws-", false, "starts or ends with '-'"},
      {"a ws", false, "byte 0x20"},
  };
  for (const auto& c : cases) {
    auto r = check_provider_name(c.input);
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (!c.valid && !r) {
      EXPECT_NE(r.error().message.find(c.rule_fragment), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("a-z 0-9 -"), std::string::npos);
    }
  }
}

TEST(Identity, CellIdGrammar) {
  const struct {
    std::string input;
    bool valid;
    std::uint64_t value;
  } cases[] = {
      {"0", true, 0},
      {"42", true, 42},
      {"18446744073709551615", true, 18446744073709551615ull},
      {"18446744073709551616", false, 0},
      {"99999999999999999999", false, 0},
      {"042", false, 0},
      {"00", false, 0},
      {"+42", false, 0},
      {"-1", false, 0},
      {" 42", false, 0},
      {"42 ", false, 0},
      {"0x2a", false, 0},
      {"", false, 0},
      {"4 2", false, 0},
  };
  for (const auto& c : cases) {
    auto r = parse_cell_id(c.input);
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (r) {
      EXPECT_EQ(*r, c.value);
    } else {
      EXPECT_NE(r.error().message.find("unsigned 64-bit decimal"), std::string::npos);
    }
  }
}

TEST(Identity, CellIdentityAndCnLimit) {
  auto id = make_cell_identity("aws", "42");
  ASSERT_TRUE(id);
  EXPECT_EQ(identity_urn(*id), "urn:fabricbios:cell:aws:42");
  EXPECT_EQ(common_name_for(*id), "cell aws/42");
  // "cell " + 50 + "/" + 20 digits = 76 characters: beyond RFC 5280's ub-common-name.
  auto too_long = make_cell_identity(std::string(50, 'p'), "18446744073709551615");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("ub-common-name"), std::string::npos);
}

TEST(Identity, ServerSanGrammar) {
  const struct {
    std::string input;
    bool valid;
    std::vector<std::string> sans;
    std::string rule_fragment;
  } cases[] = {
      {"127.0.0.1", true, {"IP:127.0.0.1"}, ""},
      {"192.168.0.55,10.10.0.20,127.0.0.1",
       true,
       {"IP:192.168.0.55", "IP:10.10.0.20", "IP:127.0.0.1"},
       ""},
      {"::1", true, {"IP:::1"}, ""},
      {"2001:DB8:0:0::1", true, {"IP:2001:db8::1"}, ""},
      {"scheduler.example.com", true, {"DNS:scheduler.example.com"}, ""},
      {"*.fabric.example", true, {"DNS:*.fabric.example"}, ""},
      {"localhost,127.0.0.1", true, {"DNS:localhost", "IP:127.0.0.1"}, ""},
      {"a--b.example", true, {"DNS:a--b.example"}, ""},
      {"", false, {}, "empty entry"},
      {"a,,b", false, {}, "empty entry"},
      {"a,", false, {}, "empty entry"},
      {",a", false, {}, "empty entry"},
      {"a.*.example", false, {}, "not the leftmost label"},
      {"*", false, {}, "needs a parent domain"},
      {"*x.example", false, {}, "character '*'"},
      {"x*.example", false, {}, "character '*'"},
      {"under_score.example", false, {}, "character '_'"},
      {"-lead.example", false, {}, "starts or ends with '-'"},
      {"trail-.example", false, {}, "starts or ends with '-'"},
      {"example.com.", false, {}, "empty label"},
      {"a..b", false, {}, "empty label"},
      {std::string(64, 'a') + ".example", false, {}, "longer than 63"},
      {"256.1.1.1", false, {}, "last label is all digits"},
      {"1.2.3", false, {}, "last label is all digits"},
      {"01.2.3.4", false, {}, "last label is all digits"},
      {"[::1]", false, {}, "not a valid IPv6"},
      {"fe80::1%eth0", false, {}, "not a valid IPv6"},
      {"127.0.0.1:443", false, {}, "a host with a port"},
      {"https://x.example", false, {}, "a URL, not a host name"},
      {"host name", false, {}, "byte 0x20"},
      {"caf\xc3\xa9.example", false, {}, "byte 0xc3"},
  };
  for (const auto& c : cases) {
    auto r = make_server_identity({c.input});
    EXPECT_EQ(r.has_value(), c.valid) << c.input;
    if (r) {
      std::vector<std::string> got;
      for (auto& s : r->server_sans) got.push_back(s.to_string());
      EXPECT_EQ(got, c.sans) << c.input;
    } else if (!c.valid) {
      EXPECT_EQ(r.error().code, Errc::invalid_input) << c.input;
      EXPECT_NE(r.error().message.find(c.rule_fragment), std::string::npos)
          << c.input << ": " << r.error().message;
    }
  }
}

TEST(Identity, ServerSanLengthLimits) {
  std::string label(63, 'a');
  std::string name = label + "." + label + "." + label + "." + std::string(61, 'b');  // 253
  ASSERT_EQ(name.size(), 253u);
  // The CN (first SAN) would exceed 64 characters, so put a short name first.
  EXPECT_TRUE(make_server_identity({"short.example," + name}));
  auto too_long = make_server_identity({"short.example," + name + "c"});
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("254 octets"), std::string::npos);
  auto long_cn = make_server_identity({name});
  ASSERT_FALSE(long_cn);
  EXPECT_NE(long_cn.error().message.find("first SAN becomes the CN"), std::string::npos);
}

TEST(Identity, ServerSanDuplicates) {
  const struct {
    std::vector<std::string> input;
  } cases[] = {
      {{"a.example,a.example"}},
      {{"a.example,A.EXAMPLE"}},
      {{"::1,0:0::1"}},
      {{"10.0.0.1", "10.0.0.1"}},  // across repeated --san flags
  };
  for (const auto& c : cases) {
    auto r = make_server_identity(c.input);
    ASSERT_FALSE(r) << c.input[0];
    EXPECT_NE(r.error().message.find("duplicate"), std::string::npos);
  }
  auto none = make_server_identity({});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::usage);
}

TEST(Identity, UrnsAndNames) {
  auto t = make_tenant_identity("acme");
  ASSERT_TRUE(t);
  EXPECT_EQ(identity_urn(*t), "urn:fabricbios:tenant:acme");
  EXPECT_EQ(common_name_for(*t), "acme");
  EXPECT_EQ(identity_urn(make_fabric_observer_identity()), "urn:fabricbios:fabric-observer");
  EXPECT_EQ(identity_urn(make_fabric_admin_identity()), "urn:fabricbios:fabric-admin");
  auto p = make_provenance_signer_identity("ami-bake");
  ASSERT_TRUE(p);
  EXPECT_EQ(identity_urn(*p), "urn:fabricbios:provenance-signer:ami-bake");
  EXPECT_EQ(common_name_for(*p), "provenance-signer ami-bake");
  auto bad = make_provenance_signer_identity("ami:bake");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("invalid pipeline"), std::string::npos);
}

TEST(Identity, RoleNames) {
  for (const char* name : {"tenant", "fabric-observer", "fabric-admin", "cell", "provenance-signer",
                           "timestamp-authority"}) {
    auto r = parse_leaf_role(name);
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(role_name(*r), name);
  }
  for (const char* name : {"server", "ca", "admin", "Tenant", ""}) {
    auto r = parse_leaf_role(name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, Errc::usage);
  }
}

TEST(Identity, CaIdentity) {
  EXPECT_TRUE(make_ca_identity("fabricBIOS Fabric CA", 1));
  EXPECT_TRUE(make_ca_identity("Zürich CA", 0));
  EXPECT_FALSE(make_ca_identity("", 1));
  EXPECT_FALSE(make_ca_identity(std::string(65, 'c'), 1));
  EXPECT_FALSE(make_ca_identity("bad\nname", 1));
  EXPECT_FALSE(make_ca_identity("ok", -1));
  EXPECT_FALSE(make_ca_identity("ok", 17));
}

// Every control byte (0x00-0x1f) and DEL, in every identity field and SAN form, at the start, in
// the middle and at the end: refused as invalid input, with the byte escaped in the one-line
// message. The NUL after an IP literal is the case that once issued "IP:10.1.2.3" for
// "10.1.2.3<NUL>.evil.example" (inet_pton reads a C string).
TEST(Identity, ControlBytesAreRefusedEverywhere) {
  std::vector<unsigned char> bytes;
  for (unsigned c = 0; c < 0x20; ++c) bytes.push_back(static_cast<unsigned char>(c));
  bytes.push_back(0x7f);
  using Make = std::function<Result<Identity>(const std::string&)>;
  const struct {
    const char* what;
    std::string prefix, suffix;
    Make make;
  } fields[] = {
      {"tenant", "acme", "x", [](const std::string& v) { return make_tenant_identity(v); }},
      {"pipeline", "ami", "bake",
       [](const std::string& v) { return make_provenance_signer_identity(v); }},
      {"provider", "aws", "x", [](const std::string& v) { return make_cell_identity(v, "1"); }},
      {"cell id", "4", "2", [](const std::string& v) { return make_cell_identity("aws", v); }},
      {"IPv4 SAN", "10.1.2.3", ".evil.example",
       [](const std::string& v) { return make_server_identity({v + ",db.internal"}); }},
      {"IPv6 SAN", "::1", "",
       [](const std::string& v) { return make_server_identity({"db.internal," + v}); }},
      {"DNS SAN", "db", ".internal",
       [](const std::string& v) { return make_server_identity({v}); }},
      {"CA CN", "Fabric", " CA", [](const std::string& v) { return make_ca_identity(v, 1); }},
  };
  for (const auto& f : fields) {
    for (unsigned char b : bytes) {
      const std::string byte(1, static_cast<char>(b));
      for (const std::string& v :
           {byte + f.prefix + f.suffix, f.prefix + byte + f.suffix, f.prefix + f.suffix + byte}) {
        auto r = f.make(v);
        ASSERT_FALSE(r) << f.what << " with byte " << unsigned(b) << ": " << printable(v);
        EXPECT_EQ(r.error().code, Errc::invalid_input) << f.what << ": " << r.error().message;
        char escaped[8], named[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", b);
        std::snprintf(named, sizeof named, "0x%02x", b);
        const std::string& m = r.error().message;
        EXPECT_TRUE(m.find(escaped) != std::string::npos || m.find(named) != std::string::npos)
            << f.what << " names the byte: " << m;
        EXPECT_EQ(find_control_byte(r.error().message), std::string::npos)
            << f.what << ": the message itself carries no control byte";
      }
    }
  }
}

TEST(Identity, ControlByteCheck) {
  EXPECT_EQ(find_control_byte("plain text ~"), std::string::npos);
  EXPECT_EQ(find_control_byte(std::string_view("ab\0c", 4)), 2u);
  EXPECT_EQ(find_control_byte("a\x7f"), 1u);
  EXPECT_EQ(find_control_byte("caf\xc3\xa9"), std::string::npos);  // not a control byte
  auto r = check_no_control_bytes(std::string_view("10.1.2.3\0.evil", 14), "SAN list");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "invalid SAN list '10.1.2.3\\x00.evil': control byte \\x00 at position 9 (NUL, other "
            "control bytes and DEL are never allowed)");
  // The NUL case of the report: nothing of the list is accepted.
  auto s = parse_server_sans(std::string_view("10.1.2.3\0.evil.example,db.internal", 34));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("control byte \\x00 at position 9"), std::string::npos)
      << s.error().message;
}

// ---- one identity module: role table, URN forms, identities read from certificates ----

TEST(Identity, RoleTableDrivesMakeIdentity) {
  using F = IdentityField;
  EXPECT_EQ(std::vector<F>(identity_fields(Role::cell).begin(), identity_fields(Role::cell).end()),
            (std::vector<F>{F::provider, F::cell_id}));
  EXPECT_TRUE(identity_fields(Role::fabric_admin).empty());
  const struct {
    Role role;
    std::vector<std::string_view> values;
    std::string urn;
  } cases[] = {
      {Role::tenant, {"acme"}, "urn:fabricbios:tenant:acme"},
      {Role::fabric_observer, {}, "urn:fabricbios:fabric-observer"},
      {Role::fabric_admin, {}, "urn:fabricbios:fabric-admin"},
      {Role::cell, {"aws", "42"}, "urn:fabricbios:cell:aws:42"},
      {Role::provenance_signer, {"ami-bake"}, "urn:fabricbios:provenance-signer:ami-bake"},
      {Role::timestamp_authority, {"tsa-1"}, "urn:fabricbios:timestamp-authority:tsa-1"},
      {Role::server, {"10.0.0.1,db.internal"}, ""},
  };
  for (const auto& c : cases) {
    auto id = make_identity(c.role, c.values);
    ASSERT_TRUE(id) << role_name(c.role) << ": " << id.error().message;
    EXPECT_EQ(id->role, c.role);
    EXPECT_EQ(identity_urn(*id), c.urn);
    EXPECT_EQ(batch_role(role_name(c.role)), c.role);
  }
  auto wrong_count = make_identity(Role::cell, std::vector<std::string_view>{"aws"});
  ASSERT_FALSE(wrong_count);
  EXPECT_EQ(wrong_count.error().code, Errc::internal);
  EXPECT_FALSE(batch_role("ca"));
  EXPECT_FALSE(batch_role("Tenant"));
}

TEST(Identity, UrnFormsAreParsedExactly) {
  const struct {
    std::string urn;
    bool ok;
    Role role;
  } cases[] = {
      {"urn:fabricbios:tenant:acme", true, Role::tenant},
      {"urn:fabricbios:fabric-observer", true, Role::fabric_observer},
      {"urn:fabricbios:fabric-admin", true, Role::fabric_admin},
      {"urn:fabricbios:cell:aws:18446744073709551615", true, Role::cell},
      {"urn:fabricbios:provenance-signer:ami-bake", true, Role::provenance_signer},
      {"urn:fabricbios:timestamp-authority:tsa-1", true, Role::timestamp_authority},
      {"urn:fabricbios:timestamp-authority:", false, Role::ca},
      {"urn:fabricbios:timestamp-authority:a b", false, Role::ca},
      // The CN length limit is an issuing rule, not part of the URN form.
      {"urn:fabricbios:cell:" + std::string(63, 'p') + ":1", true, Role::cell},
      {"URN:fabricbios:fabric-admin", false, Role::ca},
      {"urn:fabricbios:Fabric-Admin", false, Role::ca},
      {"urn:fabricbios:tenant:ac%6de", false, Role::ca},
      {"urn:fabricbios:fabric-admin:", false, Role::ca},
      {"urn:fabricbios:tenant:", false, Role::ca},
      {"urn:fabricbios:tenant:acme:extra", false, Role::ca},
      {"urn:fabricbios:cell:aws", false, Role::ca},
      {"urn:fabricbios:cell:aws:07", false, Role::ca},
      {"urn:fabricbios:provenance-signer:a/b", false, Role::ca},
      {std::string("urn:fabricbios:tenant:ac\0me", 27), false, Role::ca},
      {"urn:fabricbios:server", false, Role::ca},
      {"", false, Role::ca},
  };
  for (const auto& c : cases) {
    auto id = identity_from_urn(c.urn);
    ASSERT_EQ(id.has_value(), c.ok) << printable(c.urn) << (id ? "" : ": " + id.error().message);
    if (!id) {
      EXPECT_EQ(id.error().code, Errc::invalid_input);
      EXPECT_EQ(find_control_byte(id.error().message), std::string::npos);
      continue;
    }
    EXPECT_EQ(id->role, c.role);
    EXPECT_EQ(identity_urn(*id), c.urn) << "parses back to itself";
  }
}

// A self-signed certificate with the given subjectAltName (openssl config syntax).
X509Ptr cert_with_sans(const std::string& sans) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  if (!sans.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
    EXPECT_NE(ext, nullptr) << sans;
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return cert;
}

TEST(Identity, IdentityFromCertificate) {
  auto cell = cert_with_sans("DNS:x.example,URI:urn:fabricbios:cell:aws:7");
  auto id = identity_from_cert(cell.get());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->role, Role::cell);
  EXPECT_EQ(id->provider, "aws");
  EXPECT_EQ(id->cell_id, 7u);
  EXPECT_EQ(urn_sans(cell.get()), std::vector<std::string>{"urn:fabricbios:cell:aws:7"});
  const struct {
    std::string sans;
    std::string fragment;
  } refused[] = {
      {"", "exactly one URN SAN (found 0)"},
      {"DNS:x.example", "exactly one URN SAN (found 0)"},
      {"URI:urn:fabricbios:fabric-admin,URI:urn:fabricbios:tenant:acme",
       "exactly one URN SAN (found 2)"},
      {"URI:URN:fabricbios:fabric-admin", "is not a fabric identity"},
      {"URI:urn:fabricbios:tenant:ac%6de", "tenant grammar"},
  };
  for (const auto& c : refused) {
    auto cert = cert_with_sans(c.sans);
    auto r = identity_from_cert(cert.get());
    ASSERT_FALSE(r) << c.sans;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos) << r.error().message;
  }
}

}  // namespace

TEST(Identity, TimestampAuthority) {
  auto t = make_timestamp_authority_identity("tsa-1");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->role, Role::timestamp_authority);
  EXPECT_EQ(identity_urn(*t), "urn:fabricbios:timestamp-authority:tsa-1");
  EXPECT_EQ(common_name_for(*t), "timestamp-authority tsa-1");
  EXPECT_EQ(identity_fields(Role::timestamp_authority).size(), 1u);
  for (const char* bad : {"", "-tsa", "tsa:1", "tsa/1", "t\x01sa"}) {
    auto r = make_timestamp_authority_identity(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("timestamp authority name"), std::string::npos)
        << r.error().message;
  }
}
