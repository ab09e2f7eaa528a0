// CSR policy for `issue-cert --csr` / `issue-server-cert --csr`: the CSR's self-signature must
// verify, its key must be EC P-256/P-384 or RSA 2048-4096, and everything else it asks for
// (subject, requested extensions) is ignored: the profile decides.
#pragma once

#include <string_view>

#include "util/ossl.hpp"
#include "util/result.hpp"

namespace grafos::pki {

/// Parses a PEM or DER PKCS#10 request, checks its signature and key policy, and returns its
/// public key. Errc::invalid_input with a clear reason otherwise.
Result<EvpPkeyPtr> csr_public_key(std::string_view data);

}  // namespace grafos::pki
