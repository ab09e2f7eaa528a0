#include "hsm/tpm/tpm_key_manager.hpp"

namespace grafos::hsm {

Result<std::unique_ptr<KeyManager>> make_tpm_key_manager(std::string_view, const Interaction&) {
  return Error{Errc::key_backend, "TPM backend not implemented yet"};
}

}  // namespace grafos::hsm
