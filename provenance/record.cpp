#include "provenance/record.hpp"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <filesystem>
#include <set>

#include "provenance/git_state.hpp"

namespace grafos::provenance {

using nlohmann::json;

namespace {

Result<std::string> dump(const json& value, int indent) {
  try {
    return value.dump(indent, ' ', /*ensure_ascii=*/false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    return Error{Errc::invalid_input, std::string("cannot serialise JSON: ") + e.what()};
  }
}

bool is_lower_hex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A string field of an object, or an error naming it.
Result<std::string> string_field(const json& obj, const char* parent, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string())
    return Error{Errc::invalid_input,
                 std::string("record: ") + parent + "." + key + " is missing or not a string"};
  return it->get<std::string>();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string user_name() {
  uid_t uid = ::geteuid();
  std::string buf(16384, '\0');
  struct passwd pw {};
  struct passwd* res = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res && res->pw_name)
    return res->pw_name;
  return std::to_string(uid);
}

}  // namespace

Result<std::string> to_canonical_json(const json& value) {
  auto s = dump(value, 2);
  if (!s) return s;
  return *s + "\n";
}

Result<std::string> to_compact_json(const json& value) { return dump(value, -1); }

std::string format_utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<int64_t> parse_source_date_epoch(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  // 253402300799 = 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 0 ||
      v > 253402300799 || text[0] == '+')
    return Error{Errc::invalid_input, "SOURCE_DATE_EPOCH='" + std::string(text) +
                                          "' is not a Unix time (decimal seconds)"};
  return v;
}

Result<std::vector<RecordBinary>> check_record(const json& rec) {
  if (!rec.is_object()) return Error{Errc::invalid_input, "record is not a JSON object"};
  auto sv = rec.find("schema_version");
  if (sv == rec.end()) return Error{Errc::invalid_input, "record has no schema_version"};
  if (!sv->is_number_integer() || sv->get<int64_t>() != kSchemaVersion)
    return Error{Errc::invalid_input,
                 "unknown schema_version " + sv->dump() + " (this tool reads schema_version 1)"};
  for (const char* key : {"image", "source", "build", "reserved"}) {
    auto it = rec.find(key);
    if (it == rec.end() || !it->is_object())
      return Error{Errc::invalid_input,
                   std::string("record: ") + key + " is missing or not an object"};
  }
  for (const char* key : {"kind", "name"})
    if (auto r = string_field(rec["image"], "image", key); !r) return std::move(r).error();
  for (const char* key : {"host", "user", "time"})
    if (auto r = string_field(rec["build"], "build", key); !r) return std::move(r).error();
  auto commit = string_field(rec["source"], "source", "commit");
  if (!commit) return std::move(commit).error();
  if (!is_lower_hex(*commit, 40) && !is_lower_hex(*commit, 64))
    return Error{Errc::invalid_input, "record: source.commit is not a lowercase hex commit id"};
  auto dirty = rec["source"].find("dirty");
  if (dirty == rec["source"].end() || !dirty->is_boolean())
    return Error{Errc::invalid_input, "record: source.dirty is missing or not a boolean"};

  auto bins = rec.find("binaries");
  if (bins == rec.end() || !bins->is_array())
    return Error{Errc::invalid_input, "record: binaries is missing or not an array"};
  if (bins->empty()) return Error{Errc::invalid_input, "record: binaries is empty"};
  std::vector<RecordBinary> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < bins->size(); ++i) {
    const json& b = (*bins)[i];
    std::string where = "record: binaries[" + std::to_string(i) + "]";
    if (!b.is_object()) return Error{Errc::invalid_input, where + " is not an object"};
    RecordBinary rb;
    auto p = b.find("path");
    if (p == b.end() || !p->is_string() || p->get_ref<const std::string&>().empty())
      return Error{Errc::invalid_input, where + ".path is missing, empty or not a string"};
    rb.path = p->get<std::string>();
    if (rb.path.find('\0') != std::string::npos)
      return Error{Errc::invalid_input, where + ".path contains a NUL byte"};
    auto h = b.find("sha256");
    if (h == b.end() || !h->is_string() || !is_lower_hex(h->get_ref<const std::string&>(), 64))
      return Error{Errc::invalid_input, where + ".sha256 is not 64 lowercase hex digits"};
    rb.sha256 = h->get<std::string>();
    auto s = b.find("size");
    if (s == b.end() || !s->is_number_unsigned())
      return Error{Errc::invalid_input, where + ".size is not a non-negative integer"};
    rb.size = s->get<uint64_t>();
    std::string norm = std::filesystem::path(rb.path).lexically_normal().string();
    if (!seen.insert(norm).second)
      return Error{Errc::invalid_input, "record: duplicate binary path '" + rb.path + "'"};
    out.push_back(std::move(rb));
  }
  return out;
}

Result<json> make_record(const RecordRequest& req) {
  if (req.image_kind.empty()) return Error{Errc::usage, "the image kind must not be empty"};
  if (req.image_name.empty()) return Error{Errc::usage, "the image name must not be empty"};
  if (req.binaries.empty()) return Error{Errc::usage, "at least one binary is required"};
  std::set<std::string> seen;
  for (const auto& b : req.binaries) {
    if (b.empty()) return Error{Errc::usage, "a binary path must not be empty"};
    if (!seen.insert(std::filesystem::path(b).lexically_normal().string()).second)
      return Error{Errc::usage, "binary '" + b + "' is given twice"};
  }
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (req.source_date_epoch) {
    auto t = parse_source_date_epoch(*req.source_date_epoch);
    if (!t) return std::move(t).error();
    now = *t;
  }
  auto src = read_source_state(req.repo);
  if (!src) return std::move(src).error();

  auto digests = hash_files(req.binaries, req.hash);
  json bins = json::array();
  for (size_t i = 0; i < digests.size(); ++i) {
    const auto& d = digests[i];
    if (d.status != FileStatus::ok) {
      Errc code = d.status == FileStatus::missing       ? Errc::binary_missing
                  : d.status == FileStatus::not_regular ? Errc::invalid_input
                                                        : Errc::io;
      return Error{code, "binary '" + req.binaries[i] + "': " + d.message};
    }
    bins.push_back({{"path", req.binaries[i]}, {"sha256", d.sha256}, {"size", d.size}});
  }
  json rec = {
      {"schema_version", kSchemaVersion},
      {"image", {{"kind", req.image_kind}, {"name", req.image_name}}},
      {"source", {{"commit", src->commit}, {"dirty", src->dirty}}},
      {"binaries", std::move(bins)},
      {"build", {{"host", host_name()}, {"user", user_name()}, {"time", format_utc(now)}}},
      {"reserved",
       {{"aws", nullptr}, {"gcp", nullptr}, {"azure", nullptr}, {"conformance", nullptr}}},
  };
  // Refuse what cannot be written faithfully (a path or name that is not valid UTF-8).
  if (auto s = to_canonical_json(rec); !s)
    return Error{Errc::usage, "a binary path, the image kind or the image name is not valid UTF-8"};
  return rec;
}

}  // namespace grafos::provenance
