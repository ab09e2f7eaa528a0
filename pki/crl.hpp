// X.509 v2 CRLs from the ledger (RFC 5280 section 5): issuer and AKI of the CA, a monotonic CRL
// number, one entry per revoked (or possibly issued, `reserved`) serial with its reason code and
// invalidity date, thisUpdate / nextUpdate inside the CA's validity. Linted before signing, and
// its signature verified with the CA certificate after signing, before anything is written.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <vector>

#include "hsm/key_manager.hpp"
#include "pki/ledger.hpp"
#include "util/ossl.hpp"
#include "util/result.hpp"

namespace grafos::pki {

/// What a CRL lists and when.
struct CrlRequest {
  X509* ca = nullptr;
  std::vector<LedgerEntry> revoked;  ///< revoked rows, and reserved rows (possibly issued)
  std::int64_t crl_number = 1;
  std::int64_t this_update = 0;  ///< unix seconds
  std::int64_t next_update = 0;  ///< unix seconds; must not pass the CA's notAfter
};

/// Builds, lints, signs and verifies the CRL. Errc::policy names a lint failure (nextUpdate
/// beyond the CA, a duplicate serial, ...); Errc::crypto a signature that does not verify.
Result<X509CrlPtr> build_crl(const CrlRequest& req, hsm::Signer& signer);

/// The CRL as PEM.
Result<std::string> crl_to_pem(X509_CRL* crl);

/// Reads a PEM or DER CRL file and checks its signature against `ca` (Errc::mismatch when it
/// was not signed by that CA; Errc::invalid_input when it is not a CRL).
Result<X509CrlPtr> read_crl(const std::string& path, X509* ca);

}  // namespace grafos::pki
