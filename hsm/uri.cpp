#include "hsm/uri.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <vector>

namespace grafos::hsm {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error uri_error(std::string_view what) {
  return Error{Errc::invalid_input, "invalid PKCS#11 URI: " + std::string(what) + " (RFC 7512)"};
}

constexpr std::array<std::string_view, 13> kPathAttrs = {"token",
                                                         "object",
                                                         "id",
                                                         "serial",
                                                         "slot-id",
                                                         "manufacturer",
                                                         "model",
                                                         "type",
                                                         "library-manufacturer",
                                                         "library-description",
                                                         "library-version",
                                                         "slot-description",
                                                         "slot-manufacturer"};
constexpr std::array<std::string_view, 4> kQueryAttrs = {"module-path", "module-name", "pin-source",
                                                         "pin-value"};

template <size_t N>
bool known(const std::array<std::string_view, N>& names, std::string_view n) {
  for (auto k : names)
    if (k == n) return true;
  return false;
}

constexpr std::string_view kScheme = "pkcs11:";
constexpr std::string_view kRedacted = "<redacted>";
constexpr std::string_view kAfterPinValue = "after pin-value= (percent-encode '&' in a PIN as %26)";

// The attribute name `raw` (as written in the URI) percent-decoded and in lower case, so that
// "Pin-Value" and "pin%2Dvalue" both read "pin-value"; nullopt when it does not decode.
std::optional<std::string> folded_name(std::string_view raw) {
  auto name = percent_decode(raw);
  if (!name) return std::nullopt;
  for (auto& c : *name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::move(*name);
}

}  // namespace

bool has_pkcs11_scheme(std::string_view ref) {
  if (ref.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(ref[i])) != kScheme[i]) return false;
  return true;
}

std::string redact_pkcs11_uri(std::string_view uri) {
  if (!has_pkcs11_scheme(uri)) return std::string(uri);
  const std::string scheme(uri.substr(0, kScheme.size()));
  const std::string everything = scheme + std::string(kRedacted);
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) return everything;
  const size_t q = rest.find('?');
  const bool has_query = q != std::string_view::npos;
  std::string_view path = rest.substr(0, q);
  std::string_view query = has_query ? rest.substr(q + 1) : std::string_view();
  if (query.find('?') != std::string_view::npos) return everything;
  // Appends the redacted attributes of one section to `out`; false when in doubt. Any part
  // without '=' or with a name the parser would refuse may be the tail of a PIN that contains
  // the separator, so it is never shown.
  auto section = [](std::string_view s, char sep, auto is_known, std::string& out) {
    size_t i = 0;
    while (!s.empty()) {
      size_t end = s.find(sep, i);
      std::string_view part = s.substr(i, end == std::string_view::npos ? end : end - i);
      auto eq = part.find('=');
      if (part.empty() || eq == std::string_view::npos) return false;
      std::string_view name = part.substr(0, eq);
      auto folded = folded_name(name);
      if (!folded) return false;
      if (i > 0) out.push_back(sep);
      if (*folded == "pin-value")
        out += "pin-value=" + std::string(kRedacted);
      else if (is_known(name) || name.starts_with("x-"))
        out.append(part);
      else
        return false;
      if (end == std::string_view::npos) break;
      i = end + 1;
    }
    return true;
  };
  auto path_attr = [](std::string_view n) { return known(kPathAttrs, n); };
  auto query_attr = [](std::string_view n) { return known(kQueryAttrs, n); };
  std::string out = scheme;
  if (!section(path, ';', path_attr, out)) return everything;
  if (has_query) out.push_back('?');
  if (!section(query, '&', query_attr, out)) return everything;
  return out;
}

Result<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        cleanse_string(out);  // the part decoded so far may be a PIN
        return uri_error("'%' must be followed by two hex digits");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      cleanse_string(out);
      return uri_error("spaces and control characters must be percent-encoded");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view uri) {
  if (!has_pkcs11_scheme(uri)) return uri_error("it must start with 'pkcs11:'");
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) return uri_error("a fragment ('#') is not allowed");
  std::string_view path = rest, query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
    if (query.find('?') != std::string_view::npos)
      return uri_error("'?' may appear only once, before the query attributes");
  }

  Pkcs11Uri out;
  std::vector<std::string> seen;
  bool pin_seen = false;
  auto split = [](std::string_view s, char sep, auto&& fn) -> Result<void> {
    size_t i = 0;
    while (i <= s.size() && !s.empty()) {
      size_t end = s.find(sep, i);
      std::string_view part = s.substr(i, end == std::string_view::npos ? end : end - i);
      if (auto r = fn(part); !r) return r;
      if (end == std::string_view::npos) break;
      i = end + 1;
    }
    return ok();
  };

  auto path_attr = [&](std::string_view part) -> Result<void> {
    if (part.empty()) return uri_error("empty path attribute (stray ';')");
    auto eq = part.find('=');
    if (eq == std::string_view::npos)
      return uri_error("path attribute '" + std::string(part) + "' has no '='");
    std::string name(part.substr(0, eq));
    if (!known(kPathAttrs, name) && !name.starts_with("x-"))
      return uri_error("unknown path attribute '" + name + "'");
    for (auto& s : seen)
      if (s == name) return uri_error("path attribute '" + name + "' appears more than once");
    seen.push_back(name);
    auto value = percent_decode(part.substr(eq + 1));
    if (!value) return std::move(value).error().context("attribute '" + name + "'");
    // A %00 would cut a label short where it meets a C string (libp11, the module).
    if (name != "id" && value->find('\0') != std::string::npos)
      return uri_error("attribute '" + name + "' holds a NUL byte (%00)");
    if (name == "token") {
      out.token = std::move(*value);
    } else if (name == "object") {
      out.object = std::move(*value);
    } else if (name == "id") {
      if (value->empty()) return uri_error("id= must not be empty");
      out.id = Bytes(value->begin(), value->end());
    } else if (name == "serial") {
      out.serial = std::move(*value);
    } else if (name == "slot-id") {
      unsigned long n = 0;
      auto [p, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (value->empty() || ec != std::errc() || p != value->data() + value->size())
        return uri_error("slot-id= must be a decimal number");
      out.slot_id = n;
    } else if (name == "manufacturer") {
      out.manufacturer = std::move(*value);
    } else if (name == "model") {
      out.model = std::move(*value);
    } else if (name == "type") {
      if (*value != "private" && *value != "public" && *value != "cert" && *value != "secret-key" &&
          *value != "data")
        return uri_error("type= must be one of public, private, cert, secret-key, data");
      out.type = std::move(*value);
    }
    return ok();
  };

  auto query_attr = [&](std::string_view part) -> Result<void> {
    if (part.empty()) return uri_error("empty query attribute (stray '&')");
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      // Never echo a part that might be a secret.
      return uri_error("a query attribute has no '='");
    }
    std::string name(part.substr(0, eq));
    // After a pin-value, what looks like an attribute may be the rest of a PIN holding an
    // unencoded '&': its name is not echoed.
    const std::string shown = pin_seen ? std::string(kAfterPinValue) : "'" + name + "'";
    if (!known(kQueryAttrs, name) && !name.starts_with("x-"))
      return uri_error("unknown query attribute " + shown);
    for (auto& s : seen)
      if (s == name) return uri_error("query attribute " + shown + " appears more than once");
    seen.push_back(name);
    if (name == "pin-value") pin_seen = true;
    auto value = percent_decode(part.substr(eq + 1));
    if (!value) {
      if (name == "pin-value") return uri_error("pin-value= has a malformed percent-escape");
      return std::move(value).error().context("attribute '" + name + "'");
    }
    // A %00 would cut a path or PIN short at dlopen(), open() or a C-string login.
    if (value->find('\0') != std::string::npos)
      return uri_error("attribute '" + name + "' holds a NUL byte (%00)");
    if (name == "module-path") {
      if (value->empty() || (*value)[0] != '/')
        return uri_error("module-path= must be an absolute path to a PKCS#11 module");
      out.module_path = std::move(*value);
    } else if (name == "module-name") {
      out.module_name = std::move(*value);
    } else if (name == "pin-source") {
      std::string_view v = *value;
      if (!v.starts_with("file:"))
        return uri_error(
            "pin-source= must be a file: URI (e.g. pin-source=file:/run/ca.pin); other sources "
            "(commands, env:) are refused: use GRAFOS_PKCS11_PIN or a PIN file");
      v.remove_prefix(5);
      if (v.starts_with("//")) {
        // file://host/path: only an empty host (or localhost) names this machine.
        v.remove_prefix(2);
        if (v.starts_with("localhost/")) v.remove_prefix(9);
        if (!v.starts_with("/")) return uri_error("pin-source=file:// must name a local path");
      }
      if (v.empty()) return uri_error("pin-source=file: names no file");
      out.pin_file = std::string(v);
    } else if (name == "pin-value") {
      out.pin_value = SecretString(std::move(*value));
    }
    return ok();
  };

  if (auto r = split(path, ';', path_attr); !r) return std::move(r).error();
  if (auto r = split(query, '&', query_attr); !r) return std::move(r).error();
  if (out.pin_file && out.pin_value)
    return uri_error("pin-source= and pin-value= must not both be given");
  return out;
}

}  // namespace grafos::hsm
