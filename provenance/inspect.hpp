// grafos-ca inspect, the provenance half: what a record or a Sigstore bundle says (image, commit,
// dirty flag, build, signer, every binary). Nothing is verified: the signature and the signer's
// chain are image-provenance verify's job, and the output says so.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

#include "util/result.hpp"

namespace grafos::provenance {

/// Describes `text` when it is a JSON object: a provenance record ("kind": "provenance-record")
/// or a signed bundle ("provenance-bundle", with "signer": subject, pipeline, sha256 and
/// validity of the bundled certificate, and "signature_verified": false). Fields: image
/// {kind, name}, source {commit, dirty}, build {host, user, time}, binaries [{path, sha256,
/// size}]. nullopt when `text` is not JSON at all (the caller tries other kinds); Errc::
/// invalid_input when it is JSON but neither a record nor a bundle this tool reads.
Result<std::optional<nlohmann::ordered_json>> inspect_provenance(std::string_view text);

}  // namespace grafos::provenance
