#include "provenance/inspect.hpp"

#include <openssl/x509.h>

#include "pki/issuer.hpp"
#include "provenance/base64.hpp"
#include "provenance/dsse.hpp"
#include "provenance/record.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::provenance {
namespace {

using nlohmann::ordered_json;

Error bad(std::string message) { return Error{Errc::invalid_input, std::move(message)}; }

// The record's fields, in reading order (check_record has checked their types).
void record_fields(const nlohmann::json& rec, ordered_json& j) {
  auto str = [](const nlohmann::json& v) { return v.get<std::string>(); };
  j["image"] = {{"kind", str(rec["image"]["kind"])}, {"name", str(rec["image"]["name"])}};
  j["source"] = {{"commit", str(rec["source"]["commit"])},
                 {"dirty", rec["source"]["dirty"].get<bool>()}};
  j["build"] = {{"host", str(rec["build"]["host"])},
                {"user", str(rec["build"]["user"])},
                {"time", str(rec["build"]["time"])}};
  auto bins = ordered_json::array();
  for (const auto& b : rec["binaries"])
    bins.push_back({{"path", str(b["path"])},
                    {"sha256", str(b["sha256"])},
                    {"size", b["size"].get<uint64_t>()}});
  j["binaries"] = std::move(bins);
}

Result<ordered_json> signer_fields(const nlohmann::json& bundle) {
  const auto* raw = bundle.contains("verificationMaterial") &&
                            bundle["verificationMaterial"].is_object() &&
                            bundle["verificationMaterial"].contains("certificate") &&
                            bundle["verificationMaterial"]["certificate"].is_object()
                        ? &bundle["verificationMaterial"]["certificate"]
                        : nullptr;
  if (!raw || !raw->contains("rawBytes") || !(*raw)["rawBytes"].is_string())
    return bad("bundle: verificationMaterial.certificate.rawBytes is missing");
  auto der = base64_decode((*raw)["rawBytes"].get<std::string>());
  if (!der) return std::move(der).error().context("bundle: certificate rawBytes");
  const unsigned char* p = der->data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  if (!cert || p != der->data() + der->size()) {
    drain_ossl_errors();
    return bad("bundle: certificate rawBytes is not one DER X.509 certificate");
  }
  ordered_json s;
  if (auto id = check_signer_profile(cert.get())) {
    s["subject"] = id->subject;
    s["pipeline"] = id->pipeline;
  } else {
    s["subject"] = nullptr;
    s["pipeline"] = nullptr;
    s["problem"] = id.error().message;
  }
  s["serial"] = pki::serial_hex(cert.get());
  s["sha256"] = x509_sha256_fingerprint(cert.get());
  s["not_before"] = pki::rfc3339(X509_get0_notBefore(cert.get()));
  s["not_after"] = pki::rfc3339(X509_get0_notAfter(cert.get()));
  return s;
}

}  // namespace

Result<std::optional<ordered_json>> inspect_provenance(std::string_view text) {
  auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || (text[start] != '{' && text[start] != '['))
    return std::optional<ordered_json>();
  auto doc = parse_json_strict(text);
  if (!doc) return std::move(doc).error();
  if (!doc->is_object()) return bad("JSON that is not an object: neither a record nor a bundle");
  ordered_json j;
  if (doc->contains("mediaType") || doc->contains("dsseEnvelope")) {
    j["kind"] = "provenance-bundle";
    if (!(*doc)["mediaType"].is_string() || (*doc)["mediaType"] != kBundleMediaType)
      return bad("bundle: mediaType is not " + std::string(kBundleMediaType));
    const auto& env = (*doc)["dsseEnvelope"];
    if (!env.is_object() || !env.contains("payload") || !env["payload"].is_string())
      return bad("bundle: dsseEnvelope.payload is missing");
    auto payload = base64_decode(env["payload"].get<std::string>());
    if (!payload) return std::move(payload).error().context("bundle: payload");
    auto st = parse_json_strict(
        std::string_view(reinterpret_cast<const char*>(payload->data()), payload->size()));
    if (!st) return std::move(st).error().context("bundle: payload");
    if (!st->is_object() || !st->contains("predicate"))
      return bad("bundle: payload is not an in-toto statement with a predicate");
    const auto& rec = (*st)["predicate"];
    if (auto bins = check_record(rec); !bins) return std::move(bins).error().context("bundle");
    record_fields(rec, j);
    auto signer = signer_fields(*doc);
    if (!signer) return std::move(signer).error();
    j["signer"] = std::move(*signer);
    j["signature_verified"] = false;
  } else {
    if (!doc->contains("schema_version"))
      return bad(
          "JSON without schema_version or mediaType: neither a provenance record nor a "
          "bundle");
    if (auto bins = check_record(*doc); !bins) return std::move(bins).error().context("record");
    j["kind"] = "provenance-record";
    record_fields(*doc, j);
    j["signer"] = nullptr;
  }
  return std::optional<ordered_json>(std::move(j));
}

}  // namespace grafos::provenance
