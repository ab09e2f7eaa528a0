// Backend registry: picks the KeyManager for a key reference. Backends compiled out of this build
// answer with an error that says so, like smallstep's stub registrations.
#include "grafos_config.h"
#include "hsm/file/file_key_manager.hpp"
#include "hsm/key_manager.hpp"
#if HAVE_PKCS11
#include "hsm/pkcs11/pkcs11_key_manager.hpp"
#endif
#if HAVE_TPM
#include "hsm/tpm/tpm_key_manager.hpp"
#endif

namespace grafos::hsm {

Result<std::unique_ptr<KeyManager>> open_key_manager(std::string_view ref,
                                                     const Interaction& interaction) {
  switch (classify_key_ref(ref)) {
    case Backend::file:
      return make_file_key_manager(interaction);
    case Backend::pkcs11:
#if HAVE_PKCS11
      return make_pkcs11_key_manager(ref, interaction);
#else
      return Error{Errc::key_backend, "this build has no PKCS#11 support (built without libp11)"};
#endif
    case Backend::tpm:
#if HAVE_TPM
      return make_tpm_key_manager(ref, interaction);
#else
      return Error{Errc::key_backend, "this build has no TPM support (built with -Dtpm=disabled)"};
#endif
  }
  return Error{Errc::internal, "unknown key backend"};
}

}  // namespace grafos::hsm
