// Identities the fabric CA certifies, and the grammar each one must follow (DESIGN.md section 4).
//
//   tenant / pipeline  1-63 of [A-Za-z0-9._-], starting with a letter or digit
//   provider           1-63 of [a-z0-9-], not starting or ending with '-'
//   cell id            canonical unsigned 64-bit decimal (no sign, no leading zeros)
//   server SANs        comma-separated IPv4/IPv6 literals or DNS names (LDH labels of 1-63
//                      octets, 253 total, "*." only as the whole leftmost label); no empty
//                      entries, no duplicates
//
// Every refusal names the rule that was broken; nothing is escaped or repaired silently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace grafos::pki {

/// The kind of certificate (and principal) a profile describes.
enum class Role { ca, tenant, fabric_observer, fabric_admin, cell, server, provenance_signer };

/// Stable name of a role as used on the command line ("fabric-observer").
std::string_view role_name(Role role);

/// Parses a --role value (tenant, fabric-observer, fabric-admin, cell, provenance-signer).
Result<Role> parse_leaf_role(std::string_view text);

/// One subjectAltName entry.
struct SanEntry {
  enum class Kind { uri, dns, ip };
  Kind kind = Kind::uri;
  std::string value;  ///< URI text, DNS name as given, or canonical IP text (inet_ntop)

  /// "URI:urn:...", "DNS:name" or "IP:addr", as openssl prints SANs.
  std::string to_string() const;
  bool operator==(const SanEntry&) const = default;
};

/// A validated identity: what the certificate will name. Build with the make_* functions.
struct Identity {
  Role role = Role::tenant;
  std::string name;                   ///< tenant name (tenant) or pipeline name (provenance-signer)
  std::string provider;               ///< cell provider
  std::uint64_t cell_id = 0;          ///< cell id
  std::vector<SanEntry> server_sans;  ///< server SANs, in the order given
  std::string ca_common_name;         ///< CA subject CN
  int path_len = 1;                   ///< CA pathLenConstraint
};

/// Checks the tenant grammar; `what` names the value in the message ("tenant", "pipeline").
Result<void> check_tenant_name(std::string_view name, std::string_view what = "tenant");

/// Checks the provider grammar.
Result<void> check_provider_name(std::string_view name);

/// Parses a canonical u64 decimal cell id.
Result<std::uint64_t> parse_cell_id(std::string_view text);

/// Parses one comma-separated --san list into entries (IP literals become Kind::ip).
Result<std::vector<SanEntry>> parse_server_sans(std::string_view list);

/// Checks one DNS name (LDH labels, 1-63 octets each, 253 total, "*." only leftmost).
Result<void> check_dns_name(std::string_view name);

/// Validated identity constructors.
Result<Identity> make_tenant_identity(std::string_view tenant);
Identity make_fabric_observer_identity();
Identity make_fabric_admin_identity();
Result<Identity> make_cell_identity(std::string_view provider, std::string_view cell_id);
Result<Identity> make_provenance_signer_identity(std::string_view pipeline);
/// `sans` may hold several comma-separated lists (repeated --san flags); duplicates across them
/// are errors too.
Result<Identity> make_server_identity(const std::vector<std::string>& sans);
Result<Identity> make_ca_identity(std::string_view common_name, int path_len);

/// The identity URN carried as a URI SAN ("urn:fabricbios:cell:aws:42"); empty for server/CA.
std::string identity_urn(const Identity& id);

/// The subject CN of DESIGN.md section 4 ("cell aws/42", the first server SAN, the CA's --cn).
std::string common_name_for(const Identity& id);

/// A short human label ("tenant acme", "cell aws/42").
std::string identity_label(const Identity& id);

/// `s` with control and non-ASCII bytes shown as \xNN, for one-line error messages.
std::string printable(std::string_view s);

}  // namespace grafos::pki
