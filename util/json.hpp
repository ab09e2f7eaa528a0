// Strict JSON parsing for everything the project reads from outside: duplicate object keys are
// refused (never silently resolved), trailing bytes are refused, nesting depth is bounded.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "util/result.hpp"

namespace grafos {

/// Parses `text` as one JSON value. Errc::invalid_input names the problem (syntax error with
/// byte offset, duplicate key, nesting deeper than `max_depth`).
Result<nlohmann::json> parse_json_strict(std::string_view text, int max_depth = 64);

}  // namespace grafos
