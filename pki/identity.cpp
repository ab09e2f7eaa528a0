#include "pki/identity.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

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

// Parses an IP literal; returns the canonical text or "" when `s` is not one.
std::string canonical_ip(std::string_view s) {
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
  }
  return "unknown";
}

Result<Role> parse_leaf_role(std::string_view text) {
  for (Role r : {Role::tenant, Role::fabric_observer, Role::fabric_admin, Role::cell,
                 Role::provenance_signer})
    if (text == role_name(r)) return r;
  return Error{Errc::usage, "unknown --role '" + printable(text) +
                                "': expected tenant, fabric-observer, fabric-admin, cell or "
                                "provenance-signer"};
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
  std::vector<SanEntry> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string_view entry = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (entry.empty())
      return Error{Errc::invalid_input, "invalid --san list '" + printable(list) +
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
                       "invalid --san list: duplicate entry '" + printable(e.value) + "'"};
      id.server_sans.push_back(std::move(e));
    }
  }
  if (id.server_sans.empty())
    return Error{Errc::usage, "--san is required: at least one IP address or DNS name"};
  if (auto r = check_cn_length(common_name_for(id)); !r)
    return std::move(r).error().context("the first --san entry becomes the CN");
  return id;
}

Result<Identity> make_ca_identity(std::string_view common_name, int path_len) {
  if (common_name.empty() || common_name.size() > 64)
    return Error{Errc::invalid_input, "invalid --cn '" + printable(common_name) +
                                          "': must be 1-64 characters (RFC 5280 ub-common-name)"};
  for (size_t i = 0; i < common_name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(common_name[i]);
    if (c < 0x20 || c == 0x7f)
      return Error{Errc::invalid_input, "invalid --cn '" + printable(common_name) +
                                            "': control characters are not allowed (" +
                                            offending(common_name, i) + ")"};
  }
  if (path_len < 0 || path_len > 16)
    return Error{Errc::usage, "invalid --path-len " + std::to_string(path_len) + ": must be 0-16"};
  Identity id;
  id.role = Role::ca;
  id.ca_common_name = std::string(common_name);
  id.path_len = path_len;
  return id;
}

std::string identity_urn(const Identity& id) {
  switch (id.role) {
    case Role::tenant:
      return "urn:fabricbios:tenant:" + id.name;
    case Role::fabric_observer:
      return "urn:fabricbios:fabric-observer";
    case Role::fabric_admin:
      return "urn:fabricbios:fabric-admin";
    case Role::cell:
      return "urn:fabricbios:cell:" + id.provider + ":" + std::to_string(id.cell_id);
    case Role::provenance_signer:
      return "urn:fabricbios:provenance-signer:" + id.name;
    case Role::server:
    case Role::ca:
      return {};
  }
  return {};
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
      return id.ca_common_name;
  }
  return {};
}

std::string identity_label(const Identity& id) {
  switch (id.role) {
    case Role::tenant:
      return "tenant " + id.name;
    case Role::fabric_observer:
      return "fabric-observer";
    case Role::fabric_admin:
      return "fabric-admin";
    case Role::cell:
      return "cell " + id.provider + "/" + std::to_string(id.cell_id);
    case Role::provenance_signer:
      return "provenance-signer " + id.name;
    case Role::server:
      return "server " + (id.server_sans.empty() ? std::string() : id.server_sans[0].value);
    case Role::ca:
      return "CA " + id.ca_common_name;
  }
  return {};
}

}  // namespace grafos::pki
