// Shared output of grafos-ca's commands: a human summary or --json, and the hashing progress bar.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "pki/ceremony.hpp"
#include "provenance/output.hpp"
#include "provenance/verify.hpp"
#include "tools/common/tool.hpp"

namespace grafos::tools::ca {

/// The EXIT STATUS footer of every certificate command's --help.
extern const char* const kExitStatusFooter;

/// JSON object describing one written certificate.
std::string written_json(const pki::WrittenCert& w);

/// Prints what was written: one JSON object (or an array when `as_array`) with --json, a short
/// human summary otherwise.
void print_written(const Context& ctx, const std::vector<pki::WrittenCert>& written,
                   bool as_array = false);

/// The EXIT STATUS footer of image-provenance verify's --help.
extern const char* const kVerifyExitStatusFooter;

/// A hashing progress bar on stderr, only when stderr is a terminal; throttled to ~10 updates/s
/// and erased when done.
class Progress {
 public:
  Progress();
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// The callback for provenance::HashOptions::progress (empty when stderr is not a terminal).
  std::function<void(uint64_t, uint64_t)> callback();

 private:
  bool tty_;
  bool drawn_ = false;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
};

/// `error`, with the flag that lifts it named when it is an existing output (Errc::exists); a
/// message that already names --force is left as it is (one hint, never two).
Error with_force_hint(Error error);

/// CLI11 check of a --days value: 1 to pki::kMaxDays ("--days: must be 1-36500").
const CLI::Validator& days_range();

/// How grafos-ca's certificate commands name pki's inputs in messages: by their flags.
pki::InputNames flag_names();

/// Prints what image-provenance build or sign produced: the record or bundle itself when it went
/// to stdout, a one-line summary (or one JSON object with --json) when it went to a file.
Result<void> print_provenance_written(const Context& ctx, const provenance::Written& written);

/// Prints image-provenance verify's findings: one line per binary and a closing line when all
/// match, or one JSON object with --json.
void print_verify(const Context& ctx, const provenance::VerifyResponse& response);

/// Prints a verify refusal as one JSON object (--json only; the error line is on stderr).
void print_verify_error(const Context& ctx, const Error& error);

}  // namespace grafos::tools::ca
