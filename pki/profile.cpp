#include "pki/profile.hpp"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

namespace grafos::pki {

Profile profile_for(const Identity& id) {
  Profile p;
  p.role = id.role;
  p.common_name = common_name_for(id);
  switch (id.role) {
    case Role::ca:
      p.is_ca = true;
      p.path_len = id.path_len;
      p.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
      p.default_days = 3650;
      return p;
    case Role::intermediate:
      p.sans = {{SanEntry::Kind::uri, identity_urn(id)}};
      p.is_ca = true;
      p.path_len = 0;
      p.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
      p.eku_nids = {NID_client_auth};  // the chain can only ever serve TLS clients
      return p;
    case Role::server:
      p.sans = id.server_sans;
      p.key_usage = KU_DIGITAL_SIGNATURE;
      p.eku_nids = {NID_server_auth};
      return p;
    case Role::provenance_signer:
      p.sans = {{SanEntry::Kind::uri, identity_urn(id)}};
      p.key_usage = KU_DIGITAL_SIGNATURE;
      p.eku_nids = {NID_code_sign};
      return p;
    case Role::timestamp_authority:
      // RFC 3161 2.3: the TSA certificate carries exactly one EKU, timeStamping, critical.
      p.sans = {{SanEntry::Kind::uri, identity_urn(id)}};
      p.key_usage = KU_DIGITAL_SIGNATURE;
      p.eku_nids = {NID_time_stamp};
      p.eku_critical = true;
      return p;
    case Role::tenant:
    case Role::fabric_observer:
    case Role::fabric_admin:
    case Role::cell:
    case Role::peer:  // the federation extensions are added by pki/federation.cpp
      p.sans = {{SanEntry::Kind::uri, identity_urn(id)}};
      p.key_usage = KU_DIGITAL_SIGNATURE;
      p.eku_nids = {NID_client_auth};
      return p;
  }
  return p;
}

}  // namespace grafos::pki
