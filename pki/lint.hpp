// The profile linter: checks a to-be-signed certificate before the CA key is asked to sign it.
//
// It knows the rules of RFC 5280 and DESIGN.md section 4 on its own and does not read the
// Profile the certificate was built from, so a profile bug refuses issuance (Errc::policy)
// rather than producing a bad certificate.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "pki/identity.hpp"
#include "util/result.hpp"

namespace grafos::pki {

/// Checks `tbs` (built for `id`, not yet signed) against RFC 5280 and the profile of `id.role`.
/// `issuer` is the CA certificate, or nullptr for the self-signed CA certificate itself.
/// Returns Errc::policy naming the first rule broken.
Result<void> lint_certificate(X509* tbs, const Identity& id, X509* issuer);

/// Subject key policy: EC P-256 or P-384, or RSA 2048-4096 bits. Errc::invalid_input otherwise.
Result<void> check_subject_key_policy(EVP_PKEY* key);

/// The subjectAltName entries of `cert` as "URI:...", "DNS:...", "IP:..." (empty when none).
std::vector<std::string> san_strings(X509* cert);

/// A short description of a key ("EC P-256", "RSA 1024").
std::string describe_key(EVP_PKEY* key);

}  // namespace grafos::pki
