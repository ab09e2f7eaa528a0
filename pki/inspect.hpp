// grafos-ca inspect, the X.509 half: what a certificate, CSR or CRL (PEM or DER) says, as one
// JSON object a person or a script reads. Nothing is verified here (no chain, no signature
// check beyond what parsing does): inspect describes; verify and openssl verify decide.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

#include "util/result.hpp"

namespace grafos::pki {

/// Describes `data` when it is an X.509 certificate, a PKCS#10 CSR or an X.509 CRL, in PEM or
/// DER. Fields: "kind" ("certificate", "csr", "crl") and, as they apply: subject, issuer,
/// serial, not_before / not_after (RFC 3339 UTC), role and identity (the fabric URN, or the CA
/// or server role read from the profile), san, key, is_ca, extended_key_usage, sha256
/// (fingerprint of the DER), spki_sha256; a CRL's crl_number, this_update / next_update and
/// revoked serials. nullopt when `data` is none of the three (the caller tries other kinds);
/// Errc::invalid_input when it is one of them but cannot be read.
Result<std::optional<nlohmann::ordered_json>> inspect_x509(std::string_view data);

}  // namespace grafos::pki
