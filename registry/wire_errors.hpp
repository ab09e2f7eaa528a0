// THE one table from an Error's domain code (util/result.hpp Errc) to the HTTP status and the wire
// error code of the admin API (DESIGN.md section 6), and the JSON error body built from them.
#pragma once

#include <string>

#include "util/result.hpp"

namespace grafos::registry {

/// How an error goes on the wire.
struct WireError {
  int status = 500;
  std::string code;     ///< wire code: "bad_request", "not_found", "tenant_exists", ...
  std::string message;  ///< human text (never exception text; "internal error" for a 500)
};

/// Maps `e` through the table. A 500 keeps its cause out of `message` (the caller logs it).
WireError to_wire(const Error& e);

/// The wire code of an HTTP status when no error code says more (refusals before routing).
std::string default_wire_code(int status);

/// The audit outcome of an answer with this HTTP status: "allowed" below 400, "denied" for 401
/// and 403, "error" otherwise.
std::string outcome_of(int status);

}  // namespace grafos::registry
