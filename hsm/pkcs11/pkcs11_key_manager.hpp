// PKCS#11 key backend (libp11). PLACEHOLDER: being implemented; see issue #2.
#pragma once

#include "hsm/key_manager.hpp"

namespace grafos::hsm {

/// Opens the PKCS#11 module named by `uri` (module-path=) and returns a KeyManager for it.
Result<std::unique_ptr<KeyManager>> make_pkcs11_key_manager(std::string_view uri,
                                                            const Interaction& interaction);

}  // namespace grafos::hsm
