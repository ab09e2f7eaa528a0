#include "provenance/build.hpp"

#include "provenance/sign.hpp"

namespace grafos::provenance {

Result<BuildResponse> build_image_provenance(const BuildRequest& req,
                                             const hsm::Interaction& interaction) {
  std::optional<SigningMaterial> signing;
  if (!req.sign_key.empty() || !req.sign_cert.empty()) {
    if (req.sign_key.empty() || req.sign_cert.empty())
      return Error{Errc::usage, "a signing key and its signer certificate go together"};
    auto m = open_signing_material(req.sign_key, req.sign_cert, interaction);
    if (!m) return std::move(m).error();
    signing = std::move(*m);
  }
  if (auto r = check_output_free(req.output); !r) return std::move(r).error();
  auto record = make_record(req.record);
  if (!record) return std::move(record).error();
  auto text = signing ? sign_record(*record, *signing->key.signer, signing->cert.get())
                      : to_canonical_json(*record);
  if (!text) return std::move(text).error();
  if (auto w = write_output(req.output, *text); !w) return std::move(w).error();
  BuildResponse out;
  out.output = req.output.path;
  out.text = std::move(*text);
  out.signed_bundle = signing.has_value();
  out.binaries = (*record)["binaries"].size();
  out.commit = (*record)["source"].value("commit", "");
  out.dirty = (*record)["source"].value("dirty", false);
  return out;
}

}  // namespace grafos::provenance
