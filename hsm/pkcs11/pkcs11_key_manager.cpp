#include "hsm/pkcs11/pkcs11_key_manager.hpp"

namespace grafos::hsm {

Result<std::unique_ptr<KeyManager>> make_pkcs11_key_manager(std::string_view, const Interaction&) {
  return Error{Errc::key_backend, "PKCS#11 backend not implemented yet"};
}

}  // namespace grafos::hsm
