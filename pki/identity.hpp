// Identities the fabric CA certifies, and the grammar each one must follow (DESIGN.md section 4).
//
//   tenant / pipeline  1-63 of [A-Za-z0-9._-], starting with a letter or digit
//   provider           1-63 of [a-z0-9-], not starting or ending with '-'
//   cell id            canonical unsigned 64-bit decimal (no sign, no leading zeros)
//   server SANs        comma-separated IPv4/IPv6 literals or DNS names (LDH labels of 1-63
//                      octets, 253 total, "*." only as the whole leftmost label); no empty
//                      entries, no duplicates
//
// NUL, the other control bytes and DEL are refused everywhere (a C-string API such as inet_pton
// would otherwise read less than the reviewer sees). Every refusal names the rule that was broken;
// nothing is escaped or repaired silently.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace grafos::pki {

/// The kind of certificate (and principal) a profile describes. The one Role of the project:
/// grafos-registry's principals (tenant, fabric-observer, fabric-admin, cell) are these too.
enum class Role {
  ca,
  tenant,
  fabric_observer,
  fabric_admin,
  cell,
  server,
  provenance_signer,
  peer,          ///< a federated peer fabric (pki/federation.hpp), urn:fabricbios:peer:<peerId>
  intermediate,  ///< the online enrollment intermediate CA (pki/intermediate.hpp)
  timestamp_authority,  ///< RFC 3161 TSA: EKU timeStamping only, critical (issue 15)
};

/// Stable name of a role as used on the command line ("fabric-observer").
std::string_view role_name(Role role);

/// Parses a --role value (tenant, fabric-observer, fabric-admin, cell, provenance-signer,
/// timestamp-authority).
Result<Role> parse_leaf_role(std::string_view text);

/// What a leaf identity is made of besides its role.
enum class IdentityField { tenant, provider, cell_id, pipeline, sans, tsa_name };

/// The fields each leaf role takes, in batch-line order (the one table of roles and their
/// fields): tenant {tenant}, fabric-observer {}, fabric-admin {}, cell {provider, cell_id},
/// provenance-signer {pipeline}, server {sans}, timestamp-authority {tsa_name}; ca {}.
std::span<const IdentityField> identity_fields(Role role);

/// How a field is written in the batch format ("<provider>", "<san>[,<san>...]").
std::string_view field_placeholder(IdentityField field);

/// The leaf role named `word` in a batch line (the leaf roles and "server"); nullopt otherwise.
std::optional<Role> batch_role(std::string_view word);

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
  std::string name;                   ///< tenant, pipeline (provenance-signer) or TSA name
  std::string provider;               ///< cell provider
  std::uint64_t cell_id = 0;          ///< cell id
  std::vector<SanEntry> server_sans;  ///< server SANs, in the order given
  std::string ca_common_name;         ///< CA subject CN
  int path_len = 1;                   ///< CA pathLenConstraint
};

/// Builds the validated identity of a leaf role from its field values, given in
/// identity_fields(role) order (Errc::internal when the count differs). The one place roles are
/// mapped to the make_*_identity constructors below.
Result<Identity> make_identity(Role role, std::span<const std::string_view> values);

/// Checks the tenant grammar; `what` names the value in the message ("tenant", "pipeline").
Result<void> check_tenant_name(std::string_view name, std::string_view what = "tenant");

/// Checks the provider grammar.
Result<void> check_provider_name(std::string_view name);

/// Parses a canonical u64 decimal cell id.
Result<std::uint64_t> parse_cell_id(std::string_view text);

/// Parses one comma-separated SAN list into entries (IP literals become Kind::ip).
Result<std::vector<SanEntry>> parse_server_sans(std::string_view list);

/// Checks one DNS name (LDH labels, 1-63 octets each, 253 total, "*." only leftmost).
Result<void> check_dns_name(std::string_view name);

/// Validated identity constructors.
Result<Identity> make_tenant_identity(std::string_view tenant);
Identity make_fabric_observer_identity();
Identity make_fabric_admin_identity();
Result<Identity> make_cell_identity(std::string_view provider, std::string_view cell_id);
Result<Identity> make_provenance_signer_identity(std::string_view pipeline);
/// A time-stamping authority named by the tenant grammar ("tsa-1").
Result<Identity> make_timestamp_authority_identity(std::string_view name);
/// `sans` may hold several comma-separated lists (repeated --san flags of the tools); duplicates
/// across them are errors too.
Result<Identity> make_server_identity(const std::vector<std::string>& sans);
Result<Identity> make_ca_identity(std::string_view common_name, int path_len);
/// The online enrollment intermediate (Role::intermediate): CN kIntermediateCommonName, SAN
/// kUrnEnrollmentIntermediate, pathLen 0.
Identity make_intermediate_identity();
inline constexpr std::string_view kIntermediateCommonName = "fabricBIOS Enrollment Intermediate CA";

/// The identity URN carried as a URI SAN ("urn:fabricbios:cell:aws:42"); empty for server/CA.
std::string identity_urn(const Identity& id);

/// The URN forms (DESIGN.md section 4), matched exactly: case-sensitive, no percent-decoding.
inline constexpr std::string_view kUrnTenantPrefix = "urn:fabricbios:tenant:";
inline constexpr std::string_view kUrnCellPrefix = "urn:fabricbios:cell:";
inline constexpr std::string_view kUrnProvenanceSignerPrefix = "urn:fabricbios:provenance-signer:";
inline constexpr std::string_view kUrnFabricObserver = "urn:fabricbios:fabric-observer";
inline constexpr std::string_view kUrnFabricAdmin = "urn:fabricbios:fabric-admin";
inline constexpr std::string_view kUrnPeerPrefix = "urn:fabricbios:peer:";
inline constexpr std::string_view kUrnEnrollmentIntermediate =
    "urn:fabricbios:enrollment-intermediate";
inline constexpr std::string_view kUrnTimestampAuthorityPrefix =
    "urn:fabricbios:timestamp-authority:";

/// Parses a fabric identity URN exactly (the inverse of identity_urn): tenant, fabric-observer,
/// fabric-admin, cell, provenance-signer or timestamp-authority, each name in its grammar.
/// Errc::invalid_input names what is wrong.
Result<Identity> identity_from_urn(std::string_view urn);

/// The URI SANs of `cert` whose scheme is "urn:" (compared case-insensitively, so that a
/// "URN:..." variant is counted and then refused by identity_from_urn), in certificate order.
std::vector<std::string> urn_sans(X509* cert);

/// The identity a client certificate names: exactly one URN SAN, parsed by identity_from_urn.
/// Errc::invalid_input otherwise. Does not check the chain, the validity or the profile.
Result<Identity> identity_from_cert(X509* cert);

/// The subject CN of DESIGN.md section 4 ("cell aws/42", the first server SAN, the CA's --cn).
std::string common_name_for(const Identity& id);

/// A short human label ("tenant acme", "cell aws/42").
std::string identity_label(const Identity& id);

/// `s` with control and non-ASCII bytes shown as \xNN, for one-line error messages.
std::string printable(std::string_view s);

/// Index of the first control byte (0x00-0x1f) or DEL (0x7f) in `s`; npos when there is none.
size_t find_control_byte(std::string_view s);

/// Refuses NUL, every other control byte and DEL in `value`, naming the byte (escaped) and its
/// 1-based position; `what` names the value ("SAN list"). Identities, SANs and batch lines never
/// carry one: what a reviewer reads must be what gets certified.
Result<void> check_no_control_bytes(std::string_view value, std::string_view what);

}  // namespace grafos::pki
