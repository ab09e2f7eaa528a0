#include "provenance/dsse.hpp"

#include <openssl/x509v3.h>

#include "pki/identity.hpp"
#include "provenance/base64.hpp"
#include "provenance/record.hpp"
#include "util/ossl.hpp"

namespace grafos::provenance {

using nlohmann::json;

std::string pae(std::string_view type, std::string_view body) {
  std::string out = "DSSEv1 ";
  out += std::to_string(type.size());
  out += ' ';
  out += type;
  out += ' ';
  out += std::to_string(body.size());
  out += ' ';
  out += body;
  return out;
}

Result<SignerIdentity> check_signer_profile(X509* cert) {
  SignerIdentity id;
  {
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    id.subject = bio_to_string(bio.get());
  }
  // X509_check_ca also caches the extensions; a cert whose extensions do not parse is refused.
  if (X509_check_ca(cert) != 0)
    return Error{Errc::mismatch, "signer certificate '" + id.subject +
                                     "' is a CA certificate, not a provenance-signer leaf"};
  if (X509_get_extension_flags(cert) & EXFLAG_INVALID) {
    drain_ossl_errors();
    return Error{Errc::mismatch, "signer certificate has malformed extensions"};
  }
  if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ||
      !(X509_get_extended_key_usage(cert) & XKU_CODE_SIGN))
    return Error{Errc::mismatch, "signer certificate '" + id.subject +
                                     "' lacks the codeSigning extended key usage"};
  if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) &&
      !(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE))
    return Error{Errc::mismatch,
                 "signer certificate '" + id.subject + "' lacks the digitalSignature key usage"};
  // The identity forms and the pipeline grammar are pki's (pki/identity.hpp).
  int found = 0;
  std::string urn;
  for (auto& u : pki::urn_sans(cert)) {
    if (!u.starts_with(pki::kUrnProvenanceSignerPrefix)) continue;
    ++found;
    urn = std::move(u);
  }
  if (found == 0)
    return Error{Errc::mismatch, "signer certificate '" + id.subject +
                                     "' has no urn:fabricbios:provenance-signer:<pipeline> SAN"};
  if (found > 1)
    return Error{Errc::mismatch,
                 "signer certificate '" + id.subject + "' has more than one provenance-signer URN"};
  auto signer = pki::identity_from_urn(urn);
  if (!signer)
    return Error{Errc::mismatch,
                 "signer certificate's pipeline name '" +
                     pki::printable(urn.substr(pki::kUrnProvenanceSignerPrefix.size())) +
                     "' breaks the pipeline grammar"};
  id.pipeline = signer->name;
  return id;
}

Result<json> make_statement(const json& record) {
  auto bins = check_record(record);
  if (!bins) return std::move(bins).error();
  json subject = json::array();
  for (const auto& b : *bins)
    subject.push_back({{"name", b.path}, {"digest", {{"sha256", b.sha256}}}});
  return json{{"_type", kStatementType},
              {"subject", std::move(subject)},
              {"predicateType", kPredicateType},
              {"predicate", record}};
}

Result<std::string> sign_record(const json& record, hsm::Signer& signer, X509* cert) {
  auto id = check_signer_profile(cert);
  if (!id) return Error{Errc::invalid_input, id.error().message};
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    return Error{Errc::invalid_input, "the signer certificate is not valid yet"};
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    return Error{Errc::invalid_input, "the signer certificate has expired"};
  EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (!cert_key || !public_keys_equal(cert_key, signer.public_key()))
    return Error{Errc::key_backend, "the signing key " + signer.description() +
                                        " does not match the signer certificate"};
  auto statement = make_statement(record);
  if (!statement) return std::move(statement).error();
  auto body = to_compact_json(*statement);
  if (!body) return std::move(body).error();
  std::string message = pae(kPayloadType, *body);
  auto sig = signer.sign(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(message.data()), message.size()));
  if (!sig) return std::move(sig).error();
  // A faulty token must not produce a bundle that does not verify.
  if (auto v = hsm::verify_signature(
          cert_key,
          std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(message.data()),
                                         message.size()),
          *sig);
      !v)
    return Error{Errc::key_backend,
                 "the signature made by " + signer.description() + " does not verify"};
  unsigned char* der = nullptr;
  int der_len = i2d_X509(cert, &der);
  if (der_len <= 0) return ossl_error(Errc::crypto, "encoding the signer certificate");
  std::string cert_b64 = base64_encode(std::span<const unsigned char>(der, der_len));
  OPENSSL_free(der);
  json signature = {{"keyid", ""}, {"sig", base64_encode(*sig)}};
  json signatures = json::array();
  signatures.push_back(std::move(signature));
  json bundle = {
      {"mediaType", kBundleMediaType},
      {"verificationMaterial",
       {{"certificate", {{"rawBytes", cert_b64}}}, {"tlogEntries", json::array()}}},
      {"dsseEnvelope",
       {{"payload", base64_encode(*body)},
        {"payloadType", kPayloadType},
        {"signatures", std::move(signatures)}}},
  };
  return to_canonical_json(bundle);
}

}  // namespace grafos::provenance
