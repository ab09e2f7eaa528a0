// Certificate profiles (DESIGN.md section 4): what the issuer puts in a certificate for each role.
//
// The profile is the builder's recipe. The linter (pki/lint.hpp) does not trust it: it checks the
// to-be-signed certificate against the rules of the role and identity independently, so a bug here
// refuses issuance instead of producing a bad certificate.
#pragma once

#include <ctime>
#include <optional>
#include <vector>

#include "pki/identity.hpp"
#include "util/bytes.hpp"

namespace grafos::pki {

/// What goes into one certificate.
struct Profile {
  Role role = Role::tenant;
  std::string common_name;     ///< subject CN (UTF8String)
  std::vector<SanEntry> sans;  ///< subjectAltName entries, in order (empty: no extension)
  bool is_ca = false;          ///< basicConstraints cA
  int path_len = -1;           ///< pathLenConstraint; -1 leaves it out
  unsigned key_usage = 0;      ///< KU_* bits of <openssl/x509v3.h>
  std::vector<int> eku_nids;   ///< extendedKeyUsage purposes (empty: no extension)
  bool eku_critical = false;   ///< extendedKeyUsage marked critical (RFC 3161 TSA certificates)
  int default_days = 365;      ///< validity when --days is not given
  /// A non-critical extension outside RFC 5280's set (the federation extensions of a peer).
  struct CustomExtension {
    int nid = 0;      ///< registered with OBJ_create
    Bytes der_value;  ///< the extnValue content (DER)
  };
  std::vector<CustomExtension> custom_extensions;  ///< appended after the standard ones
  /// An absolute notAfter instead of a number of days (a peer certificate ends with its grant).
  std::optional<std::time_t> not_after;
};

/// The profile DESIGN.md section 4 prescribes for `id`.
Profile profile_for(const Identity& id);

}  // namespace grafos::pki
