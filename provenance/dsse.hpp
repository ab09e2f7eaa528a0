// Signed provenance: an in-toto Statement v1 in a DSSE envelope, carried with the signer's
// certificate in a Sigstore bundle v0.3 (no transparency-log entries).
//
//   bundle = { "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//              "verificationMaterial": { "certificate": { "rawBytes": b64(signer DER) },
//                                        "tlogEntries": [] },
//              "dsseEnvelope": { "payload": b64(statement), "payloadType":
//                                "application/vnd.in-toto+json",
//                                "signatures": [ { "keyid": "", "sig": b64(ECDSA DER) } ] } }
//   statement = { "_type": "https://in-toto.io/Statement/v1",
//                 "subject": [ { "name": <path>, "digest": { "sha256": <hex> } }, ... ],
//                 "predicateType": "https://grafos.dev/provenance/image/v1",
//                 "predicate": <the schema_version 1 record, unchanged> }
//   signature over PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in decimal)
#pragma once

#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "hsm/key_manager.hpp"
#include "util/result.hpp"

namespace grafos::provenance {

inline constexpr std::string_view kBundleMediaType =
    "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr std::string_view kPayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kPredicateType = "https://grafos.dev/provenance/image/v1";

/// DSSE v1 pre-authentication encoding of (payload type, body).
std::string pae(std::string_view payload_type, std::string_view body);

/// What the signer certificate says about its holder.
struct SignerIdentity {
  std::string pipeline;  ///< from urn:fabricbios:provenance-signer:<pipeline>
  std::string subject;   ///< one-line subject DN
};

/// Checks a certificate may sign provenance: not a CA, codeSigning in its EKU, digitalSignature
/// in its keyUsage (when present), and exactly one provenance-signer URN with a valid pipeline
/// name. Does not check the chain or the validity period.
Result<SignerIdentity> check_signer_profile(X509* cert);

/// The in-toto statement for a record (checked with check_record first).
Result<nlohmann::json> make_statement(const nlohmann::json& record);

/// Signs a record: checks the record, that `cert` has the signer profile and is within its
/// validity, that the key matches the certificate; signs PAE(statement); verifies the signature
/// with the certificate's key; returns the bundle in canonical JSON form.
Result<std::string> sign_record(const nlohmann::json& record, hsm::Signer& signer, X509* cert);

}  // namespace grafos::provenance
