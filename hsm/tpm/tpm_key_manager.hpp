// TPM key backend: keys that live in a TPM 2.0, served by the tpm2 OpenSSL 3 provider
// (package tpm2-openssl).
//
// Reference grammar:
//   <path>             a PEM file labelled "TSS2 PRIVATE KEY" (the key blob, wrapped by the TPM)
//   handle:0x81xxxxxx  a persistent key handle
// Examples: ca/ca-key.tss2.pem, handle:0x81000010
//
// How it works: the "tpm2" and "default" providers are loaded into a dedicated OSSL_LIB_CTX (once
// per process, shared by every manager, because a simulator socket serves one connection at a
// time); keys are opened with OSSL_STORE_open_ex and signed through EvpSigner with that library
// context. The TPM is reached through the TCTI in the TPM2OPENSSL_TCTI environment variable
// (e.g. "swtpm:path=/run/tpm.sock"; unset: the provider's default, /dev/tpmrm0).
// create_key generates an EC P-256 key inside the TPM and writes its TSS2 PEM with mode 0600
// (refusing an existing file unless CreateKeyRequest::replace). Persisting a new key at a handle
// is out of scope: create_key refuses handle: references (use tpm2_evictcontrol on a TSS2 key).
#pragma once

#include "hsm/key_manager.hpp"

namespace grafos::hsm {

/// Returns a KeyManager serving TSS2 PEM keys and persistent handles through the tpm2 provider.
Result<std::unique_ptr<KeyManager>> make_tpm_key_manager(std::string_view ref,
                                                         const Interaction& interaction);

}  // namespace grafos::hsm
