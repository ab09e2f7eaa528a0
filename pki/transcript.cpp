#include "pki/transcript.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "pki/merkle.hpp"
#include "util/bytes.hpp"
#include "util/file_io.hpp"
#include "util/json.hpp"
#include "util/ossl.hpp"

namespace grafos::pki {
namespace {

using nlohmann::json;

// A transcript of 100,000 operations is about 40 MB; refuse anything far beyond.
constexpr std::size_t kMaxTranscript = 1024u * 1024 * 1024;
constexpr std::string_view kCheckpointPrefix = "{\"note\":";

struct Line {
  std::size_t number;  // 1-based
  std::string_view text;
};

// Splits into lines; a last line without its newline is reported through `torn`.
std::vector<Line> split_lines(std::string_view data, std::size_t& torn) {
  std::vector<Line> out;
  std::size_t n = 0;
  torn = 0;
  while (!data.empty()) {
    auto nl = data.find('\n');
    if (nl == std::string_view::npos) {
      torn = data.size();
      break;
    }
    out.push_back({++n, data.substr(0, nl)});
    data.remove_prefix(nl + 1);
  }
  return out;
}

// The transcript's bytes and its complete lines (views into `data`); `torn` is the length of a
// last line without its newline.
struct Lines {
  std::string data;
  std::vector<Line> lines;
  std::size_t torn = 0;
};
Result<void> read_lines(const std::filesystem::path& path, Lines& out) {
  if (auto r = read_file_into(path, out.data, kMaxTranscript); !r)
    return std::move(r).error().context("reading the transcript");
  out.lines = split_lines(out.data, out.torn);
  return ok();
}

Error io_error(const std::string& what, const std::filesystem::path& p) {
  return make_error(Errc::io, what + " " + p.string() + ": " + std::strerror(errno));
}

}  // namespace

std::filesystem::path default_transcript_path(const std::filesystem::path& ca_cert) {
  return ca_cert.parent_path() / (ca_cert.stem().string() + "-transcript.log");
}

std::string transcript_origin(X509* ca) {
  return "grafos-ca/" + x509_sha256_fingerprint(ca).substr(0, 16);
}

Result<AppendResult> append_to_transcript(const std::filesystem::path& path,
                                          const std::string& origin, hsm::Signer& signer,
                                          std::vector<json> entries) {
  return append_to_transcript(path, origin, signer, entries.size(),
                              [&](std::size_t i) { return std::move(entries[i]); });
}

Result<AppendResult> append_to_transcript(const std::filesystem::path& path,
                                          const std::string& origin, hsm::Signer& signer,
                                          std::size_t count,
                                          const std::function<json(std::size_t)>& entry) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return io_error("opening the transcript", path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // One writer at a time (two grafos-ca processes on the same CA folder): an exclusive lock for
  // the whole read-hash-append.
  if (::lockf(fd, F_LOCK, 0) != 0) return io_error("locking the transcript", path);
  Lines in;
  if (auto r = read_lines(path, in); !r) return r.error();
  const auto& lines = in.lines;
  AppendResult out;
  if (in.torn) {
    if (::ftruncate(fd, static_cast<off_t>(in.data.size() - in.torn)) != 0)
      return io_error("cutting the interrupted last line of", path);
    out.torn_bytes = in.torn;
  }
  std::vector<merkle::Hash> leaves;
  std::size_t checkpoints = 0;
  // Checkpoint lines are {"note":...,"type":"checkpoint"} (nlohmann writes keys sorted) and no
  // entry has a "note" key, so the prefix tells them apart without parsing every line again.
  for (auto& l : lines) {
    if (l.text.starts_with(kCheckpointPrefix))
      ++checkpoints;
    else
      leaves.push_back(merkle::leaf_hash(l.text));
  }
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    json e = entry(i);
    if (!e.is_object() || e.contains("note"))
      return make_error(Errc::internal, "a transcript entry must be an object without a note");
    e["type"] = "entry";
    e["index"] = leaves.size();
    e["checkpoints"] = checkpoints;
    std::string line = e.dump(-1, ' ', false, json::error_handler_t::replace);
    leaves.push_back(merkle::leaf_hash(line));
    text += line;
    text += '\n';
  }
  out.tree = Checkpoint{origin, leaves.size(), merkle::root(leaves)};
  auto note = sign_note(checkpoint_body(out.tree), origin, signer);
  if (!note) return note.error();
  out.checkpoint = *note;
  text += json{{"type", "checkpoint"}, {"note", *note}}.dump();
  text += '\n';
  if (::lseek(fd, 0, SEEK_END) < 0) return io_error("seeking in", path);
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("appending to the transcript", path);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) return io_error("syncing the transcript", path);
  // A transcript that had no bytes may have just been created: its directory entry is made
  // durable too. An append to an existing transcript changes no directory entry.
  if (in.data.empty())
    if (auto r = sync_directory(path.parent_path().empty() ? "." : path.parent_path()); !r)
      return r.error();
  return out;
}

Result<TranscriptReport> verify_transcript(const std::filesystem::path& path,
                                           const std::string& origin, EVP_PKEY* ca_pub,
                                           const std::optional<std::string>& saved_note) {
  Lines in;
  if (auto r = read_lines(path, in); !r) return r.error();
  const auto& lines = in.lines;
  const std::size_t torn = in.torn;
  TranscriptReport rep;
  auto problem = [&](std::size_t line, const std::string& what) {
    rep.problems.push_back("line " + std::to_string(line) + ": " + what);
  };
  std::vector<merkle::Hash> leaves;
  bool last_was_checkpoint = false;
  std::size_t last_line = 0;
  for (auto& l : lines) {
    last_line = l.number;
    auto j = parse_json_strict(l.text, 16);
    if (!j || !j->is_object() || !j->contains("type") || !(*j)["type"].is_string()) {
      problem(l.number, "not a transcript line (not a JSON object with a type)");
      last_was_checkpoint = false;
      continue;
    }
    std::string type = (*j)["type"].get<std::string>();
    if (type == "entry") {
      auto idx = j->find("index");
      auto cps = j->find("checkpoints");
      if (idx == j->end() || !idx->is_number_unsigned() || cps == j->end() ||
          !cps->is_number_unsigned()) {
        problem(l.number, "entry without its index and checkpoint count");
      } else {
        if (idx->get<std::uint64_t>() != leaves.size())
          problem(l.number, "entry " + std::to_string(idx->get<std::uint64_t>()) +
                                " stands where entry " + std::to_string(leaves.size()) +
                                " belongs (an entry was deleted, inserted or moved)");
        if (cps->get<std::uint64_t>() != rep.checkpoints)
          problem(l.number, "entry " + std::to_string(leaves.size()) + " follows " +
                                std::to_string(cps->get<std::uint64_t>()) + " checkpoints, but " +
                                std::to_string(rep.checkpoints) +
                                " are before it (a checkpoint was removed or added)");
      }
      leaves.push_back(merkle::leaf_hash(l.text));
      rep.parsed.push_back(std::move(*j));
      last_was_checkpoint = false;
    } else if (type == "checkpoint") {
      ++rep.checkpoints;
      last_was_checkpoint = true;
      auto n = j->find("note");
      if (n == j->end() || !n->is_string()) {
        problem(l.number, "checkpoint without a note");
        continue;
      }
      rep.checkpoint_notes.push_back(n->get<std::string>());
      auto text = open_note(n->get<std::string>(), origin, ca_pub);
      if (!text) {
        problem(l.number,
                "checkpoint " + std::to_string(rep.checkpoints) + ": " + text.error().message);
        continue;
      }
      auto cp = parse_checkpoint_body(*text);
      if (!cp) {
        problem(l.number, cp.error().message);
        continue;
      }
      if (cp->origin != origin) problem(l.number, "checkpoint of another log: " + cp->origin);
      if (cp->size != leaves.size())
        problem(l.number, "checkpoint for " + std::to_string(cp->size) + " entries stands after " +
                              std::to_string(leaves.size()) + " entries");
      else if (cp->root != merkle::root(leaves))
        problem(l.number,
                "the entries before this checkpoint are not the ones it signed (an "
                "entry was changed)");
      rep.last = *cp;
    } else {
      problem(l.number, "unknown line type '" + type.substr(0, 20) + "'");
      last_was_checkpoint = false;
    }
  }
  rep.entries = leaves.size();
  if (torn) problem(last_line + 1, "the last line is cut short (an interrupted append)");
  if (!lines.empty() && !last_was_checkpoint)
    problem(last_line,
            "the transcript does not end with a checkpoint (it was truncated, or an "
            "operation was interrupted before its checkpoint)");
  if (saved_note) {
    auto text = open_note(*saved_note, origin, ca_pub);
    if (!text) return std::move(text).error().context("the saved checkpoint");
    auto saved = parse_checkpoint_body(*text);
    if (!saved) return std::move(saved).error().context("the saved checkpoint");
    if (saved->size > leaves.size()) {
      rep.problems.push_back("the saved checkpoint covers " + std::to_string(saved->size) +
                             " entries but the transcript has only " +
                             std::to_string(leaves.size()) + " (entries were removed)");
    } else {
      auto proof = merkle::consistency_proof(leaves, saved->size);
      if (!merkle::verify_consistency(saved->size, leaves.size(), saved->root, merkle::root(leaves),
                                      proof))
        rep.problems.push_back("the transcript does not extend the saved checkpoint of " +
                               std::to_string(saved->size) +
                               " entries (entries before it were changed)");
    }
  }
  return rep;
}

}  // namespace grafos::pki
