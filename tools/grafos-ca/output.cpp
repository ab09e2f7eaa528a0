#include "tools/grafos-ca/output.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "pki/issuer.hpp"

namespace grafos::tools::ca {

const char* const kExitStatusFooter =
    "Exit status: 0 ok; 2 bad flags or arguments; 3 input refused (identity or SAN grammar, "
    "malformed file, CSR policy, validity beyond the CA's, symlink at an output); 4 an output "
    "exists and --force was not given; 5 key backend (module, token, PIN, passphrase, key does "
    "not match the CA certificate); 6 a file is missing or unreadable/unwritable; 7 an OpenSSL "
    "operation failed; 8 the profile linter refused the certificate before signing; 70 a bug.";

std::string written_json(const pki::WrittenCert& w) {
  nlohmann::ordered_json j;
  j["role"] = std::string(pki::role_name(w.role));
  j["identity"] = w.identity;
  j["subject"] = w.subject;
  j["san"] = w.san;
  j["serial"] = w.serial;
  j["sha256_fingerprint"] = w.sha256;
  j["not_before"] = w.not_before;
  j["not_after"] = w.not_after;
  nlohmann::ordered_json files;
  files["certificate"] = w.certificate.string();
  if (!w.private_key.empty()) files["private_key"] = w.private_key.string();
  j["files"] = files;
  if (!w.key_ref.empty()) j["ca_key"] = w.key_ref;
  if (!w.checkpoint.empty()) j["checkpoint"] = w.checkpoint;
  return j.dump();
}

void print_written(const Context& ctx, const std::vector<pki::WrittenCert>& written,
                   bool as_array) {
  for (const auto& w : written)
    for (const auto& n : w.notes) ctx.note(n);
  if (ctx.global.json) {
    if (as_array) std::cout << '[';
    for (size_t i = 0; i < written.size(); ++i)
      std::cout << (i ? "," : "") << written_json(written[i]);
    if (as_array) std::cout << ']';
    std::cout << '\n';
    return;
  }
  for (const auto& w : written) {
    std::cout << "wrote " << w.certificate.string();
    if (!w.private_key.empty()) std::cout << " and " << w.private_key.string();
    std::cout << ": " << w.subject;
    if (!w.san.empty()) {
      std::cout << ", SAN ";
      for (size_t i = 0; i < w.san.size(); ++i) std::cout << (i ? "," : "") << w.san[i];
    }
    std::cout << ", serial " << w.serial << ", valid until " << w.not_after << '\n';
    if (w.role == pki::Role::ca && w.private_key.empty())
      std::cout << "CA key: " << w.key_ref << '\n';
    // The custodian copies the checkpoint off the machine: transcript verify --checkpoint later
    // proves the transcript extends it.
    if (!w.checkpoint.empty()) std::cout << "transcript checkpoint:\n" << w.checkpoint;
  }
}

const char* const kVerifyExitStatusFooter =
    "Exit status: 0 every binary matches (and the signature holds); 1 mismatch: a binary differs, "
    "is missing or is not a regular file, or the signature, signer certificate or chain is "
    "refused; 2 usage: bad flags, wrong number of --binary overrides, a bundle without --ca; "
    "3 bad input: malformed JSON (a NUL byte or byte-order mark included), duplicate keys, "
    "unknown schema_version, duplicate paths, bad base64, an --input that is not a regular file; "
    "6 the input or --ca file cannot be read; 7 an OpenSSL operation failed (e.g. a --ca file "
    "with no certificate).\n";

Progress::Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

std::function<void(uint64_t, uint64_t)> Progress::callback() {
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

Error with_force_hint(Error error) {
  if (error.code == Errc::exists && error.message.find("--force") == std::string::npos)
    error.message += " (use --force to replace it)";
  return error;
}

const CLI::Validator& days_range() {
  static const CLI::Validator v(
      [](std::string& value) {
        int days = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), days);
        if (ec != std::errc() || end != value.data() + value.size() || days < 1 ||
            days > pki::kMaxDays)
          return "invalid validity '" + value + "': must be 1-" + std::to_string(pki::kMaxDays) +
                 " days";
        return std::string();
      },
      "", "DAYS");
  return v;
}

pki::InputNames flag_names() {
  return {.ca_cert = "--ca-cert",
          .csr = "--csr",
          .batch = "--batch",
          .out = "--out",
          .replace_key = "--replace-key"};
}

Result<void> print_provenance_written(const Context& ctx, const provenance::Written& w) {
  if (!w.output) {
    std::fwrite(w.text.data(), 1, w.text.size(), stdout);
    std::fflush(stdout);
    if (std::ferror(stdout)) return Error{Errc::io, "writing to stdout failed"};
    return ok();
  }
  size_t n = w.binaries;
  if (ctx.global.json) {
    std::cout << nlohmann::json{{"output", w.output->string()},
                                {"signed", w.signed_bundle},
                                {"binaries", n}}
                     .dump()
              << '\n';
  } else {
    std::cout << "wrote " << (w.signed_bundle ? "signed bundle " : "record ") << w.output->string()
              << " (" << n << " binar" << (n == 1 ? "y" : "ies") << ")\n";
  }
  return ok();
}

namespace {

nlohmann::json binary_json(const provenance::BinaryCheck& b) {
  using provenance::FileStatus;
  nlohmann::json j = {{"path", b.path},
                      {"checked_path", b.checked_path},
                      {"expected_sha256", b.expected_sha256},
                      {"expected_size", b.expected_size},
                      {"status", b.match ? "ok"
                                 : b.actual.status == FileStatus::ok
                                     ? "mismatch"
                                     : std::string(provenance::file_status_name(b.actual.status))}};
  if (b.actual.status == FileStatus::ok) {
    j["actual_sha256"] = b.actual.sha256;
    j["actual_size"] = b.actual.size;
  } else {
    j["actual_sha256"] = nullptr;
    j["actual_size"] = nullptr;
    j["message"] = b.actual.message;
  }
  return j;
}

}  // namespace

void print_verify(const Context& ctx, const provenance::VerifyResponse& response) {
  const auto& report = response.report;
  if (ctx.global.json) {
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& b : report.binaries) bins.push_back(binary_json(b));
    nlohmann::json out = {
        {"ok", report.ok()},
        {"exit_status", report.ok() ? kExitOk : kExitMismatch},
        {"signed", report.signed_bundle},
        {"checked", report.signed_bundle ? "signature-and-integrity" : "integrity-only"},
        {"image", {{"kind", report.image_kind}, {"name", report.image_name}}},
        {"source", {{"commit", report.commit}, {"dirty", report.dirty}}},
        {"binaries", std::move(bins)}};
    if (report.signed_bundle)
      out["signer"] = {{"subject", report.signer_subject}, {"pipeline", report.pipeline}};
    if (report.signed_bundle) {
      nlohmann::json stamps = nlohmann::json::array();
      for (const auto& t : report.timestamps)
        stamps.push_back({{"time", provenance::timestamp_text(t.gen_time)},
                          {"authority", t.tsa_subject},
                          {"serial", t.serial}});
      out["timestamps"] = std::move(stamps);
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return;
  }
  bool relative_missing = false;
  for (const auto& b : report.binaries) {
    if (b.match) {
      std::cout << "ok        " << b.checked_path << '\n';
    } else if (b.actual.status == provenance::FileStatus::ok) {
      std::cout << "MISMATCH  " << b.checked_path << ": sha256 " << b.actual.sha256 << " size "
                << b.actual.size << ", record has sha256 " << b.expected_sha256 << " size "
                << b.expected_size << '\n';
    } else if (b.actual.status == provenance::FileStatus::missing) {
      // Not a different file: no file at all. A relative path in the record is looked up from
      // the working directory, which is rarely where the build ran.
      const bool relative = std::filesystem::path(b.checked_path).is_relative();
      relative_missing = relative_missing || relative;
      std::cout << "MISSING   " << b.checked_path << ": no such file";
      if (relative) {
        std::error_code ec;
        std::cout << " (a relative path, looked up from "
                  << std::filesystem::current_path(ec).string() << ")";
      }
      std::cout << '\n';
    } else {
      std::cout << "MISMATCH  " << b.checked_path << ": " << b.actual.message << '\n';
    }
  }
  if (relative_missing)
    std::cerr << ctx.tool
              << ": hint: give --root DIR (the folder relative paths were recorded from) or one "
                 "--binary PATH per recorded binary, in record order\n";
  if (!report.ok()) return;
  std::cout << (report.signed_bundle ? "verified " : "integrity verified ")
            << report.binaries.size() << " binaries against " << response.input.string()
            << ": image " << report.image_kind << " '" << report.image_name << "', commit "
            << report.commit << (report.dirty ? " (dirty: built with uncommitted changes)" : "");
  if (report.signed_bundle)
    std::cout << "; signed by " << report.signer_subject << ", pipeline " << report.pipeline
              << '\n';
  else
    std::cout << "\nunsigned record: only integrity was checked; nothing says who made it "
                 "(verify a signed bundle with --ca, or refuse records like this one with "
                 "--require-signed)\n";
  if (!report.signed_bundle) return;
  for (const auto& t : report.timestamps)
    std::cout << "timestamp " << provenance::timestamp_text(t.gen_time) << " by " << t.tsa_subject
              << ": signer checked at that time\n";
  if (report.timestamps.empty()) std::cout << "no timestamp: checked at the current time\n";
}

void print_verify_error(const Context& ctx, const Error& error) {
  if (!ctx.global.json) return;
  std::cout << nlohmann::json{{"ok", false},
                              {"exit_status", ctx.exit_code},
                              {"error", error.message},
                              {"binaries", nlohmann::json::array()}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
}

}  // namespace grafos::tools::ca
