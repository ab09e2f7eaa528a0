// TPM key backend (tpm2 OpenSSL 3 provider). PLACEHOLDER: being implemented; see issue #2.
#pragma once

#include "hsm/key_manager.hpp"

namespace grafos::hsm {

/// Returns a KeyManager serving TSS2 PEM keys and persistent handles through the tpm2 provider.
Result<std::unique_ptr<KeyManager>> make_tpm_key_manager(std::string_view ref,
                                                         const Interaction& interaction);

}  // namespace grafos::hsm
