// grafos-ca image-provenance sign as a library call, and the one place a provenance signing key
// is opened.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "hsm/load_key.hpp"
#include "provenance/dsse.hpp"
#include "provenance/output.hpp"
#include "util/ossl.hpp"

namespace grafos::provenance {

/// An opened signing key. The manager owns what the signer needs (a token session, a provider):
/// the signer is destroyed first.
/// A signing key with its provenance-signer certificate.
struct SigningMaterial {
  hsm::LoadedKey key;       ///< the key, matching `cert` (hsm::load_key)
  X509Ptr cert;             ///< the provenance-signer certificate
  SignerIdentity identity;  ///< its subject and pipeline
};

/// Reads the certificate at `cert_path` and checks it may sign provenance now (provenance-signer
/// profile, within its validity: Errc::invalid_input otherwise), then opens `key_ref` and checks
/// that it is the certificate's key (Errc::key_backend otherwise). Done before any hashing.
Result<SigningMaterial> open_signing_material(const std::string& key_ref,
                                              const std::filesystem::path& cert_path,
                                              const hsm::Interaction& interaction);

/// What sign needs.
struct SignRequest {
  std::filesystem::path input;      ///< the record to sign
  std::string sign_key;             ///< key reference
  std::filesystem::path sign_cert;  ///< provenance-signer certificate (PEM) of the key
  /// Where the bundle goes.
  Destination output{std::filesystem::path("provenance.sigstore.json")};
};

using SignResponse = Written;

/// Reads and checks the record (a bundle is refused: sign the record), refuses an existing output
/// without `force`, opens the signing material, signs and writes the bundle. On any refusal
/// nothing is written.
Result<SignResponse> sign_image_provenance(const SignRequest& request,
                                           const hsm::Interaction& interaction);

}  // namespace grafos::provenance
