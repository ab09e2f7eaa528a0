#include "provenance/sign.hpp"

#include "provenance/record.hpp"
#include "util/file_io.hpp"
#include "util/json.hpp"

namespace grafos::provenance {

Result<SigningMaterial> open_signing_material(const std::string& key_ref,
                                              const std::filesystem::path& cert_path,
                                              const hsm::Interaction& interaction) {
  std::string where = "signer certificate '" + cert_path.string() + "'";
  SigningMaterial m;
  auto pem = read_file(cert_path);
  if (!pem) return std::move(pem).error().context("signer certificate");
  auto cert = x509_from_pem(*pem);
  if (!cert) return Error{Errc::invalid_input, cert.error().message}.context(where);
  m.cert = std::move(*cert);
  auto id = check_signer_profile(m.cert.get());
  if (!id) return Error{Errc::invalid_input, id.error().message}.context(where);
  m.identity = std::move(*id);
  if (X509_cmp_current_time(X509_get0_notBefore(m.cert.get())) > 0)
    return Error{Errc::invalid_input, where + " is not valid yet"};
  if (X509_cmp_current_time(X509_get0_notAfter(m.cert.get())) < 0)
    return Error{Errc::invalid_input, where + " has expired"};
  // The one key loader: it also checks that the key is this certificate's key.
  auto key = hsm::load_key({.ref = key_ref,
                            .certificate = m.cert.get(),
                            .certificate_name = where,
                            .interaction = interaction,
                            .certificate_path = {}});
  if (!key) return std::move(key).error().context("signing key");
  m.key = std::move(*key);
  return m;
}

Result<SignResponse> sign_image_provenance(const SignRequest& req,
                                           const hsm::Interaction& interaction) {
  if (req.sign_key.empty() || req.sign_cert.empty())
    return Error{Errc::usage, "signing needs a key and its provenance-signer certificate"};
  std::string where = "'" + req.input.string() + "'";
  auto text = read_file(req.input);
  if (!text) return std::move(text).error();
  auto record = parse_json_strict(*text);
  if (!record) return std::move(record).error().context(where);
  if (record->is_object() && record->contains("dsseEnvelope"))
    return Error{Errc::invalid_input, where + " is already a signed bundle; sign the record"};
  auto binaries = check_record(*record);
  if (!binaries) return std::move(binaries).error().context(where);
  if (auto r = check_output_free(req.output); !r) return std::move(r).error();
  auto m = open_signing_material(req.sign_key, req.sign_cert, interaction);
  if (!m) return std::move(m).error();
  SignResponse out;
  auto bundle = sign_record(*record, *m->key.signer, m->cert.get());
  if (!bundle) return std::move(bundle).error();
  if (auto w = write_output(req.output, *bundle); !w) return std::move(w).error();
  out.output = req.output.path;
  out.text = std::move(*bundle);
  out.signed_bundle = true;
  out.binaries = binaries->size();
  return out;
}

}  // namespace grafos::provenance
