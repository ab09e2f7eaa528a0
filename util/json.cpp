#include "util/json.hpp"

#include <set>
#include <string>
#include <vector>

namespace grafos {

Result<nlohmann::json> parse_json_strict(std::string_view text, int max_depth) {
  using nlohmann::json;
  // nlohmann's lexer takes a NUL byte for the end of the input and silently accepts whatever
  // follows it, and it skips a UTF-8 byte-order mark: either would let two readers of the same
  // bytes see different documents. Neither is valid JSON text (RFC 8259 section 8.1).
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return Error{Errc::invalid_input, "malformed JSON: NUL byte at offset " + std::to_string(nul)};
  if (text.starts_with("\xEF\xBB\xBF"))
    return Error{Errc::invalid_input, "malformed JSON: a byte-order mark is not allowed"};
  std::vector<std::set<std::string>> keys;  // one key set per open object
  std::string problem;
  auto cb = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    if (!problem.empty()) return false;
    if (depth > max_depth) {
      problem = "JSON nesting is deeper than " + std::to_string(max_depth);
      return false;
    }
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (!keys.back().insert(k).second) {
          problem = "duplicate JSON key \"" + k + "\"";
          return false;
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  json out;
  try {
    out = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  } catch (const json::exception& e) {  // e.g. out_of_range.406: a number that overflows a double
    return Error{Errc::invalid_input, std::string("malformed JSON: ") + e.what()};
  }
  if (!problem.empty()) return Error{Errc::invalid_input, problem};
  if (out.is_discarded()) {
    // Parse again with exceptions only to obtain the position of the syntax error.
    try {
      json again = json::parse(text.begin(), text.end());
      (void)again;
    } catch (const json::exception& e) {
      return Error{Errc::invalid_input, std::string("malformed JSON: ") + e.what()};
    }
    return Error{Errc::invalid_input, "malformed JSON"};
  }
  return out;
}

}  // namespace grafos
