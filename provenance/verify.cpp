#include "provenance/verify.hpp"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <filesystem>
#include <set>

#include "hsm/key_manager.hpp"
#include "provenance/base64.hpp"
#include "provenance/dsse.hpp"
#include "util/file_io.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::provenance {

using nlohmann::json;

bool VerifyReport::ok() const {
  if (binaries.empty()) return false;
  for (const auto& b : binaries)
    if (!b.match) return false;
  return true;
}

namespace {

Error bad(std::string message) { return Error{Errc::invalid_input, std::move(message)}; }
Error refused(std::string message) { return Error{Errc::mismatch, std::move(message)}; }

// Refuses keys outside `allowed` (a bundle is read strictly so that no byte goes unchecked).
Result<void> only_keys(const json& obj, std::initializer_list<std::string_view> allowed,
                       std::string_view where) {
  if (!obj.is_object()) return bad("bundle: " + std::string(where) + " is not an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (auto a : allowed) known = known || it.key() == a;
    if (!known)
      return bad("bundle: unexpected field \"" + it.key() + "\" in " + std::string(where));
  }
  return ok();
}

Result<std::string> required_string(const json& obj, const char* key, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string())
    return bad("bundle: " + std::string(where) + "." + key + " is missing or not a string");
  return it->get<std::string>();
}

Result<std::vector<X509Ptr>> load_anchors(const std::string& pem, const std::string& name) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  for (;;) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!c) break;
    out.emplace_back(c);
  }
  drain_ossl_errors();
  if (out.empty()) return bad(name + " holds no PEM certificate");
  for (auto& c : out)
    if (X509_check_ca(c.get()) < 1)
      return bad(name + " holds a certificate that is not a CA certificate");
  return out;
}

Result<void> check_chain(X509* leaf, const std::vector<X509Ptr>& anchors,
                         const VerifyOptions& opt) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx) return ossl_error(Errc::crypto, "allocating the certificate store");
  for (auto& a : anchors)
    if (X509_STORE_add_cert(store.get(), a.get()) != 1)
      return ossl_error(Errc::crypto, "adding " + opt.ca_name + " to the certificate store");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) != 1)
    return ossl_error(Errc::crypto, "initialising certificate verification");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  if (opt.crl) {
    BioPtr bio(BIO_new_mem_buf(opt.crl->data(), static_cast<int>(opt.crl->size())));
    X509CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!crl) {
      drain_ossl_errors();
      const unsigned char* p = reinterpret_cast<const unsigned char*>(opt.crl->data());
      crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(opt.crl->size())));
    }
    if (!crl) return ossl_error(Errc::invalid_input, "the CRL is neither PEM nor DER");
    // OpenSSL checks the CRL's issuer, signature and nextUpdate as part of the chain.
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1)
      return ossl_error(Errc::crypto, "adding the CRL to the certificate store");
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
  }
  if (opt.at_time) X509_VERIFY_PARAM_set_time(param, *opt.at_time);
  int rc = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  drain_ossl_errors();
  if (rc != 1 && err == X509_V_ERR_CERT_REVOKED)
    return refused("signer certificate is revoked (listed on the CRL of " + opt.ca_name + ")");
  if (rc != 1)
    return refused(std::string("signer certificate does not chain to " + opt.ca_name + ": ") +
                   X509_verify_cert_error_string(err));
  if (X509_STORE_CTX_get0_chain(ctx.get()) == nullptr ||
      sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get())) < 2)
    return refused("signer certificate is itself a trust anchor, not a leaf issued by " +
                   opt.ca_name);
  return ok();
}

std::span<const unsigned char> bytes_of(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

// The bundle's timestamps (TSA trust, imprint), and the signer chain at each one's genTime, with
// the CRL read for a revocation before that time. Empty: no timestamp (check at now instead).
Result<std::vector<TimestampInfo>> check_timestamps(const json& bundle, X509* leaf,
                                                    const std::vector<X509Ptr>& anchors,
                                                    const VerifyOptions& opt) {
  TimestampCheckOptions to;
  to.anchors_pem = opt.tsa_ca_pem ? *opt.tsa_ca_pem : *opt.ca_pem;
  to.anchors_name = opt.tsa_ca_pem ? opt.tsa_ca_name : opt.ca_name;
  auto stamps = check_bundle_timestamps(bundle, to);
  if (!stamps) return std::move(stamps).error();
  for (const auto& ts : *stamps) {
    if (auto r = check_signed_within_validity(leaf, ts); !r) return std::move(r).error();
    VerifyOptions at = opt;
    at.crl.reset();
    at.at_time = ts.gen_time;
    if (auto r = check_chain(leaf, anchors, at); !r) return std::move(r).error();
    if (opt.crl)
      if (auto r = check_not_revoked_before(leaf, *opt.ca_pem, *opt.crl, ts, opt.ca_name); !r)
        return std::move(r).error();
  }
  return stamps;
}

// Checks the bundle up to and including the DSSE signature; returns the verified payload.
Result<std::string> open_bundle(const json& bundle, const VerifyOptions& opt,
                                VerifyReport& report) {
  if (auto r = only_keys(bundle, {"mediaType", "verificationMaterial", "dsseEnvelope"}, "bundle");
      !r)
    return std::move(r).error();
  auto media = required_string(bundle, "mediaType", "bundle");
  if (!media) return std::move(media).error();
  if (*media != kBundleMediaType)
    return bad("bundle: mediaType '" + *media + "' is not " + std::string(kBundleMediaType));
  if (!bundle.contains("verificationMaterial") || !bundle.contains("dsseEnvelope"))
    return bad("bundle: verificationMaterial or dsseEnvelope is missing");
  const json& vm = bundle["verificationMaterial"];
  if (auto r = only_keys(vm, {"certificate", "tlogEntries", "timestampVerificationData"},
                         "verificationMaterial");
      !r)
    return std::move(r).error();
  if (vm.contains("tlogEntries") && !(vm["tlogEntries"].is_array() && vm["tlogEntries"].empty()))
    return bad("bundle: transparency-log entries are not supported (tlogEntries must be empty)");
  if (!vm.contains("certificate"))
    return bad("bundle: verificationMaterial.certificate is missing");
  if (auto r = only_keys(vm["certificate"], {"rawBytes"}, "verificationMaterial.certificate"); !r)
    return std::move(r).error();
  auto raw = required_string(vm["certificate"], "rawBytes", "verificationMaterial.certificate");
  if (!raw) return std::move(raw).error();
  auto der = base64_decode(*raw);
  if (!der) return std::move(der).error().context("bundle: certificate rawBytes");
  const unsigned char* p = der->data();
  X509Ptr leaf(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  if (!leaf || p != der->data() + der->size()) {
    drain_ossl_errors();
    return bad("bundle: certificate rawBytes is not one DER X.509 certificate");
  }

  const json& env = bundle["dsseEnvelope"];
  if (auto r = only_keys(env, {"payload", "payloadType", "signatures"}, "dsseEnvelope"); !r)
    return std::move(r).error();
  auto payload_b64 = required_string(env, "payload", "dsseEnvelope");
  if (!payload_b64) return std::move(payload_b64).error();
  auto payload_type = required_string(env, "payloadType", "dsseEnvelope");
  if (!payload_type) return std::move(payload_type).error();
  auto sigs = env.find("signatures");
  if (sigs == env.end() || !sigs->is_array())
    return bad("bundle: dsseEnvelope.signatures is missing or not an array");
  if (sigs->empty()) return refused("bundle: dsseEnvelope has no signature");
  if (sigs->size() != 1)
    return refused("bundle: dsseEnvelope has " + std::to_string(sigs->size()) +
                   " signatures; exactly one (the certificate's) is accepted");
  if (auto r = only_keys((*sigs)[0], {"keyid", "sig"}, "dsseEnvelope.signatures[0]"); !r)
    return std::move(r).error();
  if ((*sigs)[0].contains("keyid") && !(*sigs)[0]["keyid"].is_string())
    return bad("bundle: dsseEnvelope.signatures[0].keyid is not a string");
  auto sig_b64 = required_string((*sigs)[0], "sig", "dsseEnvelope.signatures[0]");
  if (!sig_b64) return std::move(sig_b64).error();
  auto sig = base64_decode(*sig_b64);
  if (!sig) return std::move(sig).error().context("bundle: signature");
  if (sig->empty()) return refused("bundle: the DSSE signature is empty");
  auto payload = base64_decode(*payload_b64);
  if (!payload) return std::move(payload).error().context("bundle: payload");

  // Trust first: the certificate, then the signature, and only then the payload.
  if (!opt.ca_pem)
    return Error{Errc::usage,
                 "the input is a signed bundle: pass " + opt.ca_name + " to verify it"};
  auto anchors = load_anchors(*opt.ca_pem, opt.ca_name);
  if (!anchors) return std::move(anchors).error();
  auto stamps = check_timestamps(bundle, leaf.get(), *anchors, opt);
  if (!stamps) return std::move(stamps).error();
  if (stamps->empty())
    if (auto r = check_chain(leaf.get(), *anchors, opt); !r) return std::move(r).error();
  report.timestamps = std::move(*stamps);
  auto id = check_signer_profile(leaf.get());
  if (!id) return std::move(id).error();
  if (*payload_type != kPayloadType)
    return refused("bundle: payloadType '" + *payload_type + "' is not " +
                   std::string(kPayloadType));
  std::string body(payload->begin(), payload->end());
  std::string message = pae(*payload_type, body);
  if (auto v = hsm::verify_signature(X509_get0_pubkey(leaf.get()), bytes_of(message), *sig); !v)
    return refused("bundle: the DSSE signature does not verify with the signer certificate '" +
                   id->subject + "'");
  report.signed_bundle = true;
  report.signer_subject = id->subject;
  report.pipeline = id->pipeline;
  return body;
}

// Checks a verified statement and returns its predicate (the record).
Result<json> open_statement(std::string_view body) {
  auto st = parse_json_strict(body);
  if (!st) return std::move(st).error().context("bundle: payload");
  if (!st->is_object()) return bad("bundle: payload is not a JSON object");
  auto type = st->find("_type");
  if (type == st->end() || !type->is_string() || *type != kStatementType)
    return refused("bundle: payload is not an in-toto Statement v1 (_type)");
  auto ptype = st->find("predicateType");
  if (ptype == st->end() || !ptype->is_string() || *ptype != kPredicateType)
    return refused("bundle: predicateType is not " + std::string(kPredicateType));
  auto pred = st->find("predicate");
  if (pred == st->end()) return bad("bundle: statement has no predicate");
  auto bins = check_record(*pred);
  if (!bins) return std::move(bins).error().context("bundle: predicate");
  auto subj = st->find("subject");
  if (subj == st->end() || !subj->is_array())
    return bad("bundle: statement subject is missing or not an array");
  if (subj->size() != bins->size())
    return refused("bundle: statement lists " + std::to_string(subj->size()) +
                   " subjects but the record lists " + std::to_string(bins->size()) + " binaries");
  for (size_t i = 0; i < bins->size(); ++i) {
    const json& s = (*subj)[i];
    const auto& b = (*bins)[i];
    bool same = s.is_object() && s.contains("name") && s["name"].is_string() &&
                s["name"] == b.path && s.contains("digest") && s["digest"].is_object() &&
                s["digest"].contains("sha256") && s["digest"]["sha256"].is_string() &&
                s["digest"]["sha256"] == b.sha256;
    if (!same)
      return refused("bundle: statement subject[" + std::to_string(i) +
                     "] does not match the record's binary '" + b.path + "'");
  }
  return *pred;
}

}  // namespace

Result<VerifyReport> verify_provenance(std::string_view input, const VerifyOptions& opt) {
  auto doc = parse_json_strict(input);
  if (!doc) return std::move(doc).error();
  if (!doc->is_object()) return bad("input is not a JSON object");
  VerifyReport report;
  if (doc->contains("mediaType") || doc->contains("dsseEnvelope") ||
      doc->contains("verificationMaterial")) {
    auto body = open_bundle(*doc, opt, report);
    if (!body) return std::move(body).error();
    auto rec = open_statement(*body);
    if (!rec) return std::move(rec).error();
    report.record = std::move(*rec);
  } else {
    if (opt.ca_pem)
      return refused("the input is an unsigned record but " + opt.ca_name +
                     " was given: a signed bundle is required");
    if (opt.require_signed)
      return refused(
          "the input is an unsigned record: nothing says who made it, and a signed bundle is "
          "required");
    if (opt.signer_pipeline)
      return refused(
          "the input is an unsigned record: it has no signer, so its pipeline cannot "
          "be '" +
          *opt.signer_pipeline + "'");
    report.record = std::move(*doc);
  }
  auto bins = check_record(report.record);
  if (!bins) return std::move(bins).error();
  // check_record has checked these fields' types.
  report.image_kind = report.record["image"]["kind"].get<std::string>();
  report.image_name = report.record["image"]["name"].get<std::string>();
  report.commit = report.record["source"]["commit"].get<std::string>();
  report.dirty = report.record["source"]["dirty"].get<bool>();
  // The pins: who signed and what was signed, before any binary is hashed.
  if (opt.signer_pipeline && report.pipeline != *opt.signer_pipeline)
    return refused("the bundle was signed by pipeline '" + report.pipeline + "', not '" +
                   *opt.signer_pipeline + "'");
  if (opt.image_name && report.image_name != *opt.image_name)
    return refused("the record is for image name '" + report.image_name + "', not '" +
                   *opt.image_name + "'");
  if (opt.image_kind && report.image_kind != *opt.image_kind)
    return refused("the record is for image kind '" + report.image_kind + "', not '" +
                   *opt.image_kind + "'");

  std::vector<std::string> paths;
  if (opt.use_overrides) {
    if (opt.overrides.size() != bins->size())
      return Error{Errc::usage, std::to_string(opt.overrides.size()) +
                                    " binary paths given but the record lists " +
                                    std::to_string(bins->size()) +
                                    " binaries (overrides are order-matched, one per binary)"};
    std::set<std::string> seen;
    for (const auto& o : opt.overrides) {
      if (o.empty()) return Error{Errc::usage, "a binary path must not be empty"};
      if (!seen.insert(std::filesystem::path(o).lexically_normal().string()).second)
        return Error{Errc::usage, "binary '" + o + "' is given twice"};
    }
    paths = opt.overrides;
  } else {
    for (const auto& b : *bins) {
      std::filesystem::path p(b.path);
      paths.push_back(opt.root && p.is_relative() ? (*opt.root / p).string() : b.path);
    }
  }
  if (opt.skip_hashing) return report;

  auto digests = hash_files(paths, opt.hash);
  for (size_t i = 0; i < bins->size(); ++i) {
    BinaryCheck c;
    c.path = (*bins)[i].path;
    c.checked_path = paths[i];
    c.expected_sha256 = (*bins)[i].sha256;
    c.expected_size = (*bins)[i].size;
    c.actual = std::move(digests[i]);
    c.match = c.actual.status == FileStatus::ok && c.actual.size == c.expected_size &&
              c.actual.sha256 == c.expected_sha256;
    report.binaries.push_back(std::move(c));
  }
  return report;
}

size_t VerifyResponse::mismatches() const {
  size_t bad = 0;
  for (const auto& b : report.binaries) bad += b.match ? 0 : 1;
  return bad;
}

Result<void> VerifyResponse::verdict() const {
  if (report.ok()) return ok();
  return Error{Errc::mismatch, std::to_string(mismatches()) + " of " +
                                   std::to_string(report.binaries.size()) +
                                   " binaries do not match '" + input.string() + "'"};
}

Result<VerifyResponse> verify_image_provenance(const VerifyRequest& req) {
  VerifyResponse out;
  out.input = req.input;
  auto text = read_file(req.input);
  if (!text) return std::move(text).error();
  VerifyOptions vo;
  if (req.binaries) {
    vo.overrides = *req.binaries;
    vo.use_overrides = true;
  }
  if (req.ca) {
    auto ca = read_file(*req.ca);
    if (!ca) return std::move(ca).error().context(req.ca_name);
    vo.ca_pem = std::move(*ca);
  }
  vo.ca_name = req.ca_name;
  if (req.crl) {
    if (!req.ca) return Error{Errc::usage, "a CRL is checked against the fabric CA: give both"};
    auto crl = read_file(*req.crl, 256u * 1024 * 1024);
    if (!crl) return std::move(crl).error().context("the CRL");
    vo.crl = std::move(*crl);
  }
  if (req.tsa_ca) {
    if (!req.ca)
      return Error{Errc::usage,
                   "timestamp authorities are checked for a signed bundle, against "
                   "the fabric CA: give both"};
    auto tsa = read_file(*req.tsa_ca);
    if (!tsa) return std::move(tsa).error().context(req.tsa_ca_name);
    vo.tsa_ca_pem = std::move(*tsa);
    vo.tsa_ca_name = req.tsa_ca_name;
  }
  vo.hash = req.hash;
  vo.root = req.root;
  vo.require_signed = req.require_signed;
  vo.signer_pipeline = req.signer_pipeline;
  vo.image_name = req.image_name;
  vo.image_kind = req.image_kind;
  auto report = verify_provenance(*text, vo);
  if (!report) return std::move(report).error().context("'" + req.input.string() + "'");
  out.report = std::move(*report);
  return out;
}

}  // namespace grafos::provenance
