// grafos-ca image-provenance build as a library call: the record, signed when a key is given,
// written to its output.
#pragma once

#include <filesystem>
#include <string>

#include "hsm/key_manager.hpp"
#include "provenance/output.hpp"
#include "provenance/record.hpp"

namespace grafos::provenance {

/// What build needs.
struct BuildRequest {
  RecordRequest record;  ///< image kind and name, binaries, repository, time, hashing
  /// Signing key reference and its provenance-signer certificate: both (the output is a signed
  /// Sigstore bundle) or neither (the output is the bare record).
  std::string sign_key;
  std::filesystem::path sign_cert;
  Destination output{std::filesystem::path("provenance.json")};  ///< where the result goes
};

using BuildResponse = Written;

/// Checks the request, opens the signing material and refuses an existing output without `force`
/// (all before any hashing), makes the record, signs it when asked, and writes it. On any refusal
/// nothing is written.
Result<BuildResponse> build_image_provenance(const BuildRequest& request,
                                             const hsm::Interaction& interaction);

}  // namespace grafos::provenance
