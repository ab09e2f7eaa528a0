#include "pki/identity.hpp"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "util/ossl.hpp"

namespace grafos::pki {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_lower_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error grammar_error(std::string_view what, std::string_view value, std::string_view rule,
                    std::string_view detail = {}) {
  std::string msg =
      "invalid " + std::string(what) + " '" + printable(value) + "': " + std::string(rule);
  if (!detail.empty()) msg += " (" + std::string(detail) + ")";
  return Error{Errc::invalid_input, std::move(msg)};
}

std::string offending(std::string_view s, size_t i) {
  char buf[64];
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c >= 0x21 && c < 0x7f)
    std::snprintf(buf, sizeof buf, "character '%c' at position %zu", c, i + 1);
  else
    std::snprintf(buf, sizeof buf, "byte 0x%02x at position %zu", c, i + 1);
  return buf;
}

constexpr std::string_view kTenantRule =
    "must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit";
constexpr std::string_view kProviderRule =
    "must be 1-63 characters of a-z 0-9 - (lowercase), not starting or ending with '-'";
constexpr std::string_view kCellIdRule =
    "must be an unsigned 64-bit decimal number without sign, leading zeros or whitespace "
    "(0-18446744073709551615)";
constexpr std::string_view kDnsRule =
    "a DNS name must be LDH labels (letters, digits, '-') of 1-63 octets, at most 253 octets in "
    "total, with '*.' only as the whole leftmost label";

// Parses an IP literal; returns the canonical text or "" when `s` is not one. inet_pton reads a
// C string: an embedded NUL would cut "10.1.2.3<NUL>.evil" short, so such text is never an IP.
std::string canonical_ip(std::string_view s) {
  if (find_control_byte(s) != std::string_view::npos) return {};
  std::string z(s);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (z.find(':') == std::string::npos) {
    if (::inet_pton(AF_INET, z.c_str(), buf) == 1 && ::inet_ntop(AF_INET, buf, out, sizeof out))
      return out;
    return {};
  }
  if (::inet_pton(AF_INET6, z.c_str(), buf) == 1 && ::inet_ntop(AF_INET6, buf, out, sizeof out))
    return out;
  return {};
}

// The subject CN derived from an identity must fit RFC 5280's ub-common-name (64 characters).
Result<void> check_cn_length(const std::string& cn) {
  if (cn.size() <= 64) return ok();
  return Error{Errc::invalid_input,
               "the subject CN '" + printable(cn) + "' would be " + std::to_string(cn.size()) +
                   " characters; RFC 5280 limits commonName to 64 (ub-common-name): use a shorter "
                   "name"};
}

}  // namespace

size_t find_control_byte(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return i;
  }
  return std::string_view::npos;
}

Result<void> check_no_control_bytes(std::string_view value, std::string_view what) {
  size_t i = find_control_byte(value);
  if (i == std::string_view::npos) return ok();
  return Error{Errc::invalid_input, "invalid " + std::string(what) + " '" + printable(value) +
                                        "': control byte " + printable(value.substr(i, 1)) +
                                        " at position " + std::to_string(i + 1) +
                                        " (NUL, other control bytes and DEL are never allowed)"};
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::ca:
      return "ca";
    case Role::tenant:
      return "tenant";
    case Role::fabric_observer:
      return "fabric-observer";
    case Role::fabric_admin:
      return "fabric-admin";
    case Role::cell:
      return "cell";
    case Role::server:
      return "server";
    case Role::provenance_signer:
      return "provenance-signer";
    case Role::peer:
      return "peer";
    case Role::intermediate:
      return "intermediate";
  }
  return "unknown";
}

Result<Role> parse_leaf_role(std::string_view text) {
  for (Role r : {Role::tenant, Role::fabric_observer, Role::fabric_admin, Role::cell,
                 Role::provenance_signer})
    if (text == role_name(r)) return r;
  return Error{Errc::usage, "unknown role '" + printable(text) +
                                "': expected tenant, fabric-observer, fabric-admin, cell or "
                                "provenance-signer"};
}

std::span<const IdentityField> identity_fields(Role role) {
  using F = IdentityField;
  static constexpr F kTenant[] = {F::tenant};
  static constexpr F kCell[] = {F::provider, F::cell_id};
  static constexpr F kSigner[] = {F::pipeline};
  static constexpr F kServer[] = {F::sans};
  switch (role) {
    case Role::tenant:
      return kTenant;
    case Role::cell:
      return kCell;
    case Role::provenance_signer:
      return kSigner;
    case Role::server:
      return kServer;
    case Role::ca:
    case Role::fabric_observer:
    case Role::fabric_admin:
    case Role::peer:  // not a batch role: made by pki/federation.hpp
    case Role::intermediate:
      return {};
  }
  return {};
}

std::string_view field_placeholder(IdentityField field) {
  switch (field) {
    case IdentityField::tenant:
      return "<name>";
    case IdentityField::provider:
      return "<provider>";
    case IdentityField::cell_id:
      return "<cell_id>";
    case IdentityField::pipeline:
      return "<pipeline>";
    case IdentityField::sans:
      return "<san>[,<san>...]";
  }
  return "<?>";
}

std::optional<Role> batch_role(std::string_view word) {
  for (Role r : {Role::tenant, Role::fabric_observer, Role::fabric_admin, Role::cell,
                 Role::provenance_signer, Role::server})
    if (word == role_name(r)) return r;
  return std::nullopt;
}

Result<Identity> make_identity(Role role, std::span<const std::string_view> v) {
  if (v.size() != identity_fields(role).size())
    return Error{Errc::internal, "make_identity: " + std::to_string(v.size()) +
                                     " values for role " + std::string(role_name(role))};
  switch (role) {
    case Role::tenant:
      return make_tenant_identity(v[0]);
    case Role::fabric_observer:
      return make_fabric_observer_identity();
    case Role::fabric_admin:
      return make_fabric_admin_identity();
    case Role::cell:
      return make_cell_identity(v[0], v[1]);
    case Role::provenance_signer:
      return make_provenance_signer_identity(v[0]);
    case Role::server:
      return make_server_identity({std::string(v[0])});
    case Role::ca:
    case Role::peer:
    case Role::intermediate:
      break;
  }
  return Error{Errc::internal, "make_identity: a " + std::string(role_name(role)) +
                                   " identity has its own constructor"};
}

std::string SanEntry::to_string() const {
  switch (kind) {
    case Kind::uri:
      return "URI:" + value;
    case Kind::dns:
      return "DNS:" + value;
    case Kind::ip:
      return "IP:" + value;
  }
  return value;
}

Result<void> check_tenant_name(std::string_view name, std::string_view what) {
  if (name.empty()) return grammar_error(what, name, kTenantRule, "it is empty");
  if (name.size() > 63)
    return grammar_error(what, name, kTenantRule,
                         "it has " + std::to_string(name.size()) + " characters");
  if (!is_alnum(name[0])) return grammar_error(what, name, kTenantRule, offending(name, 0));
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
      return grammar_error(what, name, kTenantRule, offending(name, i));
  }
  return ok();
}

Result<void> check_provider_name(std::string_view name) {
  if (name.empty()) return grammar_error("provider", name, kProviderRule, "it is empty");
  if (name.size() > 63)
    return grammar_error("provider", name, kProviderRule,
                         "it has " + std::to_string(name.size()) + " characters");
  for (size_t i = 0; i < name.size(); ++i)
    if (!is_lower_digit(name[i]) && name[i] != '-')
      return grammar_error("provider", name, kProviderRule, offending(name, i));
  if (name.front() == '-' || name.back() == '-')
    return grammar_error("provider", name, kProviderRule, "it starts or ends with '-'");
  return ok();
}

Result<std::uint64_t> parse_cell_id(std::string_view text) {
  if (text.empty()) return grammar_error("cell id", text, kCellIdRule, "it is empty");
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9')
      return grammar_error("cell id", text, kCellIdRule, offending(text, i));
  if (text.size() > 1 && text[0] == '0')
    return grammar_error("cell id", text, kCellIdRule, "leading zero");
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size())
    return grammar_error("cell id", text, kCellIdRule, "larger than 18446744073709551615");
  return v;
}

Result<void> check_dns_name(std::string_view name) {
  if (name.empty()) return grammar_error("DNS name", name, kDnsRule, "it is empty");
  if (name.size() > 253)
    return grammar_error("DNS name", name, kDnsRule,
                         "it has " + std::to_string(name.size()) + " octets");
  size_t start = 0;
  size_t label_index = 0;
  std::string_view last;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return grammar_error("DNS name", name, kDnsRule, "empty label");
    if (label.size() > 63)
      return grammar_error("DNS name", name, kDnsRule, "a label is longer than 63 octets");
    if (label == "*") {
      if (label_index != 0)
        return grammar_error("DNS name", name, kDnsRule, "'*' is not the leftmost label");
      if (dot == std::string_view::npos)
        return grammar_error("DNS name", name, kDnsRule, "a wildcard needs a parent domain");
    } else {
      for (size_t i = 0; i < label.size(); ++i) {
        char c = label[i];
        if (!is_alnum(c) && c != '-')
          return grammar_error("DNS name", name, kDnsRule, offending(name, start + i));
      }
      if (label.front() == '-' || label.back() == '-')
        return grammar_error("DNS name", name, kDnsRule, "a label starts or ends with '-'");
    }
    last = label;
    ++label_index;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return grammar_error("SAN", name, "neither a valid IP address nor a DNS name",
                         "the last label is all digits");
  return ok();
}

Result<std::vector<SanEntry>> parse_server_sans(std::string_view list) {
  if (auto r = check_no_control_bytes(list, "SAN list"); !r) return std::move(r).error();
  std::vector<SanEntry> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string_view entry = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (entry.empty())
      return Error{Errc::invalid_input, "invalid SAN list '" + printable(list) +
                                            "': empty entry (entries are "
                                            "comma-separated IP addresses or DNS names)"};
    std::string ip = canonical_ip(entry);
    if (!ip.empty()) {
      out.push_back({SanEntry::Kind::ip, ip});
    } else if (entry.find(':') != std::string_view::npos) {
      return grammar_error("SAN", entry, "not a valid IPv6 address",
                           "IPv6 literals are written without brackets, ports or zone ids");
    } else {
      if (auto r = check_dns_name(entry); !r) return std::move(r).error();
      out.push_back({SanEntry::Kind::dns, std::string(entry)});
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<Identity> make_tenant_identity(std::string_view tenant) {
  if (auto r = check_tenant_name(tenant, "tenant"); !r) return std::move(r).error();
  Identity id;
  id.role = Role::tenant;
  id.name = std::string(tenant);
  return id;
}

Identity make_fabric_observer_identity() {
  Identity id;
  id.role = Role::fabric_observer;
  return id;
}

Identity make_fabric_admin_identity() {
  Identity id;
  id.role = Role::fabric_admin;
  return id;
}

Result<Identity> make_cell_identity(std::string_view provider, std::string_view cell_id) {
  if (auto r = check_provider_name(provider); !r) return std::move(r).error();
  auto idv = parse_cell_id(cell_id);
  if (!idv) return std::move(idv).error();
  Identity id;
  id.role = Role::cell;
  id.provider = std::string(provider);
  id.cell_id = *idv;
  if (auto r = check_cn_length(common_name_for(id)); !r) return std::move(r).error();
  return id;
}

Result<Identity> make_provenance_signer_identity(std::string_view pipeline) {
  if (auto r = check_tenant_name(pipeline, "pipeline"); !r) return std::move(r).error();
  Identity id;
  id.role = Role::provenance_signer;
  id.name = std::string(pipeline);
  if (auto r = check_cn_length(common_name_for(id)); !r) return std::move(r).error();
  return id;
}

Result<Identity> make_server_identity(const std::vector<std::string>& sans) {
  Identity id;
  id.role = Role::server;
  for (const auto& list : sans) {
    auto entries = parse_server_sans(list);
    if (!entries) return std::move(entries).error();
    for (auto& e : *entries) {
      for (const auto& seen : id.server_sans)
        if (seen.kind == e.kind && lower(seen.value) == lower(e.value))
          return Error{Errc::invalid_input,
                       "invalid SAN list: duplicate entry '" + printable(e.value) + "'"};
      id.server_sans.push_back(std::move(e));
    }
  }
  if (id.server_sans.empty())
    return Error{Errc::usage, "at least one SAN (an IP address or a DNS name) is required"};
  if (auto r = check_cn_length(common_name_for(id)); !r)
    return std::move(r).error().context("the first SAN becomes the CN");
  return id;
}

Result<Identity> make_ca_identity(std::string_view common_name, int path_len) {
  if (common_name.empty() || common_name.size() > 64)
    return Error{Errc::invalid_input, "invalid CA common name '" + printable(common_name) +
                                          "': must be 1-64 characters (RFC 5280 ub-common-name)"};
  for (size_t i = 0; i < common_name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(common_name[i]);
    if (c < 0x20 || c == 0x7f)
      return Error{Errc::invalid_input, "invalid CA common name '" + printable(common_name) +
                                            "': control characters are not allowed (" +
                                            offending(common_name, i) + ")"};
  }
  if (path_len < 0 || path_len > 16)
    return Error{Errc::usage, "invalid path length " + std::to_string(path_len) + ": must be 0-16"};
  Identity id;
  id.role = Role::ca;
  id.ca_common_name = std::string(common_name);
  id.path_len = path_len;
  return id;
}

Identity make_intermediate_identity() {
  Identity id;
  id.role = Role::intermediate;
  id.ca_common_name = std::string(kIntermediateCommonName);
  id.path_len = 0;
  return id;
}

std::string identity_urn(const Identity& id) {
  switch (id.role) {
    case Role::tenant:
      return std::string(kUrnTenantPrefix) + id.name;
    case Role::fabric_observer:
      return std::string(kUrnFabricObserver);
    case Role::fabric_admin:
      return std::string(kUrnFabricAdmin);
    case Role::cell:
      return std::string(kUrnCellPrefix) + id.provider + ":" + std::to_string(id.cell_id);
    case Role::provenance_signer:
      return std::string(kUrnProvenanceSignerPrefix) + id.name;
    case Role::peer:
      return std::string(kUrnPeerPrefix) + id.name;
    case Role::intermediate:
      return std::string(kUrnEnrollmentIntermediate);
    case Role::server:
    case Role::ca:
      return {};
  }
  return {};
}

Result<Identity> identity_from_urn(std::string_view urn) {
  // Only the name grammars apply here: the subject-CN length limit of the make_*_identity
  // constructors is an issuing rule, not part of the URN form.
  auto refuse = [&](std::string_view why, const Error* cause = nullptr) {
    std::string m = "URN '" + printable(urn) + "' " + std::string(why);
    if (cause) m += " (" + cause->message + ")";
    return Error{Errc::invalid_input, std::move(m)};
  };
  Identity id;
  if (urn == kUrnFabricAdmin) return make_fabric_admin_identity();
  if (urn == kUrnFabricObserver) return make_fabric_observer_identity();
  if (urn.starts_with(kUrnTenantPrefix)) {
    auto name = urn.substr(kUrnTenantPrefix.size());
    if (auto r = check_tenant_name(name, "tenant"); !r)
      return refuse("names a tenant outside the tenant grammar", &r.error());
    id.role = Role::tenant;
    id.name = std::string(name);
    return id;
  }
  if (urn.starts_with(kUrnProvenanceSignerPrefix)) {
    auto name = urn.substr(kUrnProvenanceSignerPrefix.size());
    if (auto r = check_tenant_name(name, "pipeline"); !r)
      return refuse("names a pipeline outside the pipeline grammar", &r.error());
    id.role = Role::provenance_signer;
    id.name = std::string(name);
    return id;
  }
  if (urn.starts_with(kUrnPeerPrefix)) {
    auto name = urn.substr(kUrnPeerPrefix.size());
    if (auto r = check_tenant_name(name, "peer id"); !r)
      return refuse("names a peer outside the peer id grammar", &r.error());
    if (name.size() > 59) return refuse("names a peer id longer than 59 characters");
    id.role = Role::peer;
    id.name = std::string(name);
    return id;
  }
  if (urn.starts_with(kUrnCellPrefix)) {
    constexpr std::string_view kForm = "is not urn:fabricbios:cell:<provider>:<cell_id>";
    auto rest = urn.substr(kUrnCellPrefix.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return refuse(kForm);
    if (auto r = check_provider_name(rest.substr(0, colon)); !r) return refuse(kForm, &r.error());
    auto cell = parse_cell_id(rest.substr(colon + 1));
    if (!cell) return refuse(kForm, &cell.error());
    id.role = Role::cell;
    id.provider = std::string(rest.substr(0, colon));
    id.cell_id = *cell;
    return id;
  }
  return refuse(
      "is not a fabric identity (tenant, fabric-observer, fabric-admin, cell, "
      "provenance-signer or peer; matched exactly)");
}

std::vector<std::string> urn_sans(X509* cert) {
  std::vector<std::string> urns;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type != GEN_URI) continue;
    const ASN1_STRING* s = gn->d.uniformResourceIdentifier;
    std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(ASN1_STRING_length(s)));
    if (v.size() >= 4 && (v[0] | 0x20) == 'u' && (v[1] | 0x20) == 'r' && (v[2] | 0x20) == 'n' &&
        v[3] == ':')
      urns.push_back(std::move(v));
  }
  drain_ossl_errors();
  return urns;
}

Result<Identity> identity_from_cert(X509* cert) {
  auto urns = urn_sans(cert);
  if (urns.size() != 1)
    return Error{Errc::invalid_input, "the certificate must carry exactly one URN SAN (found " +
                                          std::to_string(urns.size()) + ")"};
  // A NUL inside the URN is refused by every grammar; named here as what it is.
  if (auto r = check_no_control_bytes(urns[0], "URN SAN"); !r) return std::move(r).error();
  return identity_from_urn(urns[0]);
}

std::string common_name_for(const Identity& id) {
  switch (id.role) {
    case Role::tenant:
      return id.name;
    case Role::fabric_observer:
      return "fabric-observer";
    case Role::fabric_admin:
      return "fabric-admin";
    case Role::cell:
      return "cell " + id.provider + "/" + std::to_string(id.cell_id);
    case Role::provenance_signer:
      return "provenance-signer " + id.name;
    case Role::server:
      return id.server_sans.empty() ? std::string() : id.server_sans[0].value;
    case Role::ca:
    case Role::intermediate:
      return id.ca_common_name;
    case Role::peer:
      return "peer " + id.name;
  }
  return {};
}

std::string identity_label(const Identity& id) {
  switch (id.role) {
    case Role::tenant:
      return "tenant " + id.name;
    case Role::server:
      return "server " + common_name_for(id);
    case Role::ca:
      return "CA " + common_name_for(id);
    default:  // "fabric-observer", "fabric-admin", "cell aws/42", "provenance-signer ami-bake"
      return common_name_for(id);
  }
}

}  // namespace grafos::pki
