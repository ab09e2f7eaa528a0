// grafos-ca image-provenance build|sign|verify: options into structs, one library call each.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include "hsm/load_key.hpp"
#include "provenance/dsse.hpp"
#include "provenance/record.hpp"
#include "provenance/verify.hpp"
#include "tools/grafos-ca/commands.hpp"
#include "util/file_io.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::tools::ca {

namespace {

namespace prov = grafos::provenance;
using nlohmann::json;

constexpr const char* kExitText =
    "Exit status: 0 every binary matches (and the signature holds); 1 mismatch: a binary differs, "
    "is missing or is not a regular file, or the signature, signer certificate or chain is "
    "refused; 2 usage: bad flags, wrong number of --binary overrides, a bundle without --ca; "
    "3 bad input: malformed JSON (a NUL byte or byte-order mark included), duplicate keys, "
    "unknown schema_version, duplicate paths, bad base64, an --input that is not a regular file; "
    "6 the input or --ca file cannot be read; 7 an OpenSSL operation failed (e.g. a --ca file "
    "with no certificate).\n";

struct BuildOptions {
  std::string image_kind, image_name, output = "provenance.json", repo = ".";
  std::vector<std::string> binaries;
  std::string sign_key, sign_cert;
  bool force = false;
};

struct SignOptions {
  std::string input, sign_key, sign_cert, output = "provenance.sigstore.json";
  bool force = false;
};

struct VerifyCliOptions {
  std::string input, ca;
  std::vector<std::string> binaries;
};

// A progress bar on stderr, only when stderr is a terminal; throttled to ~10 updates/s.
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  ~Progress() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
  }
  std::function<void(uint64_t, uint64_t)> callback() {
    if (!tty_) return {};
    return [this](uint64_t done, uint64_t total) {
      std::lock_guard<std::mutex> lock(mu_);
      auto now = std::chrono::steady_clock::now();
      if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
      last_ = now;
      drawn_ = true;
      int pct = total ? static_cast<int>(done * 100 / total) : 100;
      int bars = pct * 30 / 100;
      std::fprintf(stderr, "\rhashing [%-30s] %3d%% %.1f/%.1f MiB", std::string(bars, '#').c_str(),
                   pct, static_cast<double>(done) / 1048576.0,
                   static_cast<double>(total) / 1048576.0);
      std::fflush(stderr);
    };
  }

 private:
  bool tty_;
  bool drawn_ = false;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
};

Result<void> write_output(const std::string& path, const std::string& data, bool force) {
  if (path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
    if (std::ferror(stdout)) return Error{Errc::io, "writing to stdout failed"};
    return ok();
  }
  WriteOptions wo;
  wo.mode = 0644;
  wo.overwrite = force;
  if (auto r = write_file_atomic(path, data, wo); !r) {
    Error e = std::move(r).error();
    if (e.code == Errc::exists) e.message += " (pass --force to replace it)";
    return std::move(e).context("--output '" + path + "'");
  }
  return ok();
}

// Opens the signing key and certificate and checks they belong together (before any hashing).
struct SigningMaterial {
  std::unique_ptr<hsm::Signer> signer;
  X509Ptr cert;
};

Result<SigningMaterial> open_signing(const std::string& key, const std::string& cert_path,
                                     const Context& ctx) {
  SigningMaterial m;
  auto pem = read_file(cert_path);
  if (!pem) return std::move(pem).error().context("--sign-cert '" + cert_path + "'");
  auto cert = x509_from_pem(*pem);
  if (!cert)
    return Error{Errc::invalid_input, cert.error().message}.context("--sign-cert '" + cert_path +
                                                                    "'");
  m.cert = std::move(*cert);
  if (auto id = prov::check_signer_profile(m.cert.get()); !id)
    return Error{Errc::invalid_input, id.error().message}.context("--sign-cert '" + cert_path +
                                                                  "'");
  auto loaded = hsm::load_key({.ref = key,
                               .certificate = m.cert.get(),
                               .certificate_name = "the certificate '" + cert_path + "'",
                               .interaction = ctx.interaction(),
                               .certificate_path = {}});
  if (!loaded) return std::move(loaded).error().context("--sign-key");
  m.signer = std::move(loaded->signer);
  return m;
}

void print_summary(Context& ctx, const std::string& output, const json& record, bool signed_) {
  if (output == "-") return;
  size_t n = record["binaries"].size();
  if (ctx.global.json) {
    std::cout << json{{"output", output}, {"signed", signed_}, {"binaries", n}}.dump() << '\n';
  } else {
    std::cout << "wrote " << (signed_ ? "signed bundle " : "record ") << output << " (" << n
              << " binar" << (n == 1 ? "y" : "ies") << ")\n";
  }
}

void run_build(Context& ctx, const BuildOptions& o) {
  std::optional<SigningMaterial> signing;
  if (!o.sign_key.empty() || !o.sign_cert.empty()) {
    if (o.sign_key.empty() || o.sign_cert.empty())
      return ctx.fail(Error{Errc::usage, "--sign-key and --sign-cert go together"});
    auto m = open_signing(o.sign_key, o.sign_cert, ctx);
    if (!m) return ctx.fail(m.error());
    signing = std::move(*m);
  }
  if (o.output != "-" && !o.force) {
    std::error_code ec;
    if (std::filesystem::symlink_status(o.output, ec).type() !=
        std::filesystem::file_type::not_found)
      return ctx.fail(Error{
          Errc::exists, "--output '" + o.output + "' already exists (pass --force to replace it)"});
  }
  prov::BuildRequest req;
  req.image_kind = o.image_kind;
  req.image_name = o.image_name;
  req.binaries = o.binaries;
  req.repo = o.repo;
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) req.source_date_epoch = sde;
  Progress progress;
  req.hash.progress = progress.callback();
  auto record = prov::build_record(req);
  if (!record) return ctx.fail(record.error());
  Result<std::string> text = signing
                                 ? prov::sign_record(*record, *signing->signer, signing->cert.get())
                                 : prov::to_canonical_json(*record);
  if (!text) return ctx.fail(text.error());
  if (auto w = write_output(o.output, *text, o.force); !w) return ctx.fail(w.error());
  print_summary(ctx, o.output, *record, signing.has_value());
}

void run_sign(Context& ctx, const SignOptions& o) {
  auto text = read_file(o.input);
  if (!text) return ctx.fail(std::move(text).error().context("--input '" + o.input + "'"));
  auto record = parse_json_strict(*text);
  if (!record) return ctx.fail(std::move(record).error().context("--input '" + o.input + "'"));
  if (record->is_object() && record->contains("dsseEnvelope"))
    return ctx.fail(Error{Errc::invalid_input,
                          "--input '" + o.input + "' is already a signed bundle; sign the record"});
  if (auto b = prov::check_record(*record); !b)
    return ctx.fail(std::move(b).error().context("--input '" + o.input + "'"));
  if (o.output != "-" && !o.force) {
    std::error_code ec;
    if (std::filesystem::symlink_status(o.output, ec).type() !=
        std::filesystem::file_type::not_found)
      return ctx.fail(Error{
          Errc::exists, "--output '" + o.output + "' already exists (pass --force to replace it)"});
  }
  auto m = open_signing(o.sign_key, o.sign_cert, ctx);
  if (!m) return ctx.fail(m.error());
  auto bundle = prov::sign_record(*record, *m->signer, m->cert.get());
  if (!bundle) return ctx.fail(bundle.error());
  if (auto w = write_output(o.output, *bundle, o.force); !w) return ctx.fail(w.error());
  print_summary(ctx, o.output, *record, true);
}

json binary_json(const prov::BinaryCheck& b) {
  json j = {{"path", b.path},
            {"checked_path", b.checked_path},
            {"expected_sha256", b.expected_sha256},
            {"expected_size", b.expected_size},
            {"status", b.match ? "ok"
                       : b.actual.status == prov::FileStatus::ok
                           ? "mismatch"
                           : std::string(prov::file_status_name(b.actual.status))}};
  if (b.actual.status == prov::FileStatus::ok) {
    j["actual_sha256"] = b.actual.sha256;
    j["actual_size"] = b.actual.size;
  } else {
    j["actual_sha256"] = nullptr;
    j["actual_size"] = nullptr;
    j["message"] = b.actual.message;
  }
  return j;
}

void run_verify(Context& ctx, const VerifyCliOptions& o, bool overrides_given) {
  auto fail_json = [&](const Error& e) {
    ctx.fail(e);
    if (ctx.global.json)
      std::cout << json{{"ok", false},
                        {"exit_status", ctx.exit_code},
                        {"error", e.message},
                        {"binaries", json::array()}}
                       .dump(-1, ' ', false, json::error_handler_t::replace)
                << '\n';
  };
  auto text = read_file(o.input);
  if (!text) return fail_json(std::move(text).error().context("--input '" + o.input + "'"));
  prov::VerifyOptions vo;
  vo.overrides = o.binaries;
  vo.use_overrides = overrides_given;
  if (!o.ca.empty()) {
    auto ca = read_file(o.ca);
    if (!ca) return fail_json(std::move(ca).error().context("--ca '" + o.ca + "'"));
    vo.ca_pem = std::move(*ca);
  }
  Progress progress;
  vo.hash.progress = progress.callback();
  auto report = prov::verify_provenance(*text, vo);
  if (!report) return fail_json(std::move(report).error().context("--input '" + o.input + "'"));
  size_t bad = 0;
  for (auto& b : report->binaries) bad += b.match ? 0 : 1;
  if (ctx.global.json) {
    json bins = json::array();
    for (auto& b : report->binaries) bins.push_back(binary_json(b));
    json out = {{"ok", report->ok()},
                {"exit_status", report->ok() ? kExitOk : kExitMismatch},
                {"signed", report->signed_bundle},
                {"binaries", std::move(bins)}};
    if (report->signed_bundle)
      out["signer"] = {{"subject", report->signer_subject}, {"pipeline", report->pipeline}};
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  } else {
    for (auto& b : report->binaries) {
      if (b.match) {
        std::cout << "ok        " << b.checked_path << '\n';
      } else if (b.actual.status == prov::FileStatus::ok) {
        std::cout << "MISMATCH  " << b.checked_path << ": sha256 " << b.actual.sha256 << " size "
                  << b.actual.size << ", record has sha256 " << b.expected_sha256 << " size "
                  << b.expected_size << '\n';
      } else {
        std::cout << "MISMATCH  " << b.checked_path << ": " << b.actual.message << '\n';
      }
    }
  }
  if (!report->ok())
    return ctx.fail(Error{Errc::mismatch, std::to_string(bad) + " of " +
                                              std::to_string(report->binaries.size()) +
                                              " binaries do not match '" + o.input + "'"});
  if (!ctx.global.json) {
    std::cout << "verified " << report->binaries.size() << " binaries against " << o.input;
    if (report->signed_bundle)
      std::cout << " (signed by " << report->signer_subject << ", pipeline " << report->pipeline
                << ")";
    std::cout << '\n';
  }
}

}  // namespace

void add_image_provenance(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "image-provenance",
      "image provenance record builder. Produces a stable JSON record (`schema_version: 1`) "
      "describing exactly what is in a grafOS cell image: source commit, dirty-tree marker, "
      "per-binary SHA-256s, build host/user/time, and reserved fields the AWS/GCP/Azure pipelines "
      "(and the conformance gate) flow through unchanged; signs it as an in-toto statement in a "
      "DSSE envelope (Sigstore bundle v0.3), and verifies it fail-closed.");
  sub->require_subcommand(1);
  add_global_options(*sub, ctx.global);

  static BuildOptions b;
  auto* build = sub->add_subcommand(
      "build",
      "Compute provenance for a set of binaries plus the source repo state, write a JSON record "
      "to `--output`. Run inside a build (AMI bake, GCP image build, etc.) AFTER the binaries "
      "are produced and BEFORE the image snapshot. With --sign-key and --sign-cert the output is "
      "the signed Sigstore bundle instead. SOURCE_DATE_EPOCH, when set, is used as build.time.");
  add_global_options(*build, ctx.global);
  build
      ->add_option("--image-kind", b.image_kind,
                   "Image kind tag (`aws-ami` | `gcp-custom-image` | `azure-compute-gallery` | "
                   "`lab-debian-image`). Free-form today")
      ->required();
  build
      ->add_option("--image-name", b.image_name,
                   "Human-meaningful image name (e.g. the AMI name the bake script produced). "
                   "Free-form")
      ->required();
  build
      ->add_option("--binary", b.binaries,
                   "Path to a binary that ships in the image. Repeatable. Order is preserved")
      ->type_name("PATH")
      ->take_all()
      ->allow_extra_args(false);
  build->add_option("--output", b.output, "Output JSON path. Use `-` for stdout")
      ->capture_default_str();
  build
      ->add_option("--repo", b.repo,
                   "Repo root to inspect for commit + dirty-tree markers (the root itself, no "
                   "upward search). Untracked files do not make the tree dirty")
      ->capture_default_str();
  build
      ->add_option("--sign-key", b.sign_key,
                   "Sign the record with this key (a PEM path, a pkcs11: URI or a TSS2 PEM / "
                   "handle:) and write a Sigstore bundle")
      ->type_name("REF")
      ->check(non_empty());
  build->add_option("--sign-cert", b.sign_cert, "Provenance-signer certificate (PEM) of --sign-key")
      ->type_name("FILE")
      ->check(non_empty());
  build->add_flag("--force", b.force, "Replace an existing --output file");
  build->callback([&ctx] { run_build(ctx, b); });

  static SignOptions s;
  auto* sign = sub->add_subcommand(
      "sign",
      "Sign an existing record: wrap it in an in-toto Statement v1 (predicateType "
      "https://grafos.dev/provenance/image/v1) inside a DSSE envelope and write it with the signer "
      "certificate as one Sigstore bundle v0.3 JSON file (no transparency-log entries)");
  add_global_options(*sign, ctx.global);
  sign->add_option("--input", s.input, "Path to the provenance record to sign")
      ->required()
      ->check(non_empty());
  sign->add_option("--sign-key", s.sign_key,
                   "Signing key: a PEM path, a pkcs11: URI or a TSS2 PEM / handle:")
      ->type_name("REF")
      ->required()
      ->check(non_empty());
  sign->add_option("--sign-cert", s.sign_cert,
                   "Provenance-signer certificate (PEM) of --sign-key (codeSigning EKU, "
                   "urn:fabricbios:provenance-signer:<pipeline>)")
      ->type_name("FILE")
      ->required()
      ->check(non_empty());
  sign->add_option("--output", s.output, "Output bundle path. Use `-` for stdout")
      ->capture_default_str();
  sign->add_flag("--force", s.force, "Replace an existing --output file");
  sign->callback([&ctx] { run_sign(ctx, s); });

  static VerifyCliOptions v;
  auto* verify = sub->add_subcommand(
      "verify",
      "Re-hash binaries on disk and assert they match an existing provenance record or signed "
      "bundle. Refuses with non-zero exit on mismatch. Fail-closed by design");
  add_global_options(*verify, ctx.global);
  verify->footer(kExitText);
  verify
      ->add_option("--input", v.input,
                   "Path to the provenance record (or signed bundle) to verify against")
      ->required()
      ->check(non_empty());
  auto* vbin = verify->add_option(
      "--binary", v.binaries,
      "Optional override for binary paths (repeatable, order-matched against the record) when "
      "the runtime location differs from the build location");
  vbin->type_name("PATH")->take_all()->allow_extra_args(false);
  verify
      ->add_option("--ca", v.ca,
                   "Fabric CA certificate (PEM). Required for a signed bundle; an unsigned "
                   "record is refused when it is given")
      ->type_name("FILE")
      ->check(non_empty());
  verify->callback([&ctx, vbin] { run_verify(ctx, v, vbin->count() > 0); });
}

}  // namespace grafos::tools::ca
