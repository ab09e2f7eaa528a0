#include "registry/wire_errors.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace grafos::registry {
namespace {

struct Row {
  Errc errc;
  int status;
  const char* code;
};

// Domain code -> HTTP status and wire code. Codes not listed answer 500 "internal".
constexpr std::array kTable{
    Row{Errc::usage, 400, "bad_request"},
    Row{Errc::invalid_input, 400, "bad_request"},
    Row{Errc::bad_request, 400, "bad_request"},
    Row{Errc::bad_name, 400, "bad_name"},
    Row{Errc::limit_exceeded, 400, "limit_exceeded"},
    Row{Errc::unauthorized, 401, "unauthorized"},
    Row{Errc::forbidden, 403, "forbidden"},
    Row{Errc::remote_not_found, 404, "not_found"},
    Row{Errc::tenant_not_found, 404, "not_found"},
    Row{Errc::lease_not_found, 404, "not_found"},
    Row{Errc::token_not_found, 404, "not_found"},
    Row{Errc::endpoint_not_found, 404, "not_found"},
    Row{Errc::exists, 409, "conflict"},
    Row{Errc::conflict, 409, "conflict"},
    Row{Errc::tenant_exists, 409, "tenant_exists"},
    Row{Errc::token_exists, 409, "token_exists"},
    Row{Errc::tenant_has_active_leases, 409, "tenant_has_active_leases"},
    Row{Errc::quota_below_usage, 409, "quota_below_usage"},
    Row{Errc::quota_exceeded, 409, "quota_exceeded"},
    Row{Errc::lease_not_active, 409, "not_active"},
    Row{Errc::lease_not_fenced, 409, "not_fenced"},
    Row{Errc::cell_not_registered, 409, "not_registered"},
    Row{Errc::enrollment_token_unknown, 401, "enrollment_token_unknown"},
    Row{Errc::enrollment_token_expired, 401, "enrollment_token_expired"},
    Row{Errc::grant_revoked, 403, "grant_revoked"},
    Row{Errc::grant_expired, 403, "grant_expired"},
    Row{Errc::enrollment_token_used, 409, "enrollment_token_used"},
    Row{Errc::grant_already_active, 409, "grant_already_active"},
};

}  // namespace

WireError to_wire(const Error& e) {
  WireError w{500, "internal", "internal error"};
  for (const auto& r : kTable)
    if (r.errc == e.code) {
      w.status = r.status;
      w.code = r.code;
      break;
    }
  if (w.status == 500) return w;
  w.message = e.message;
  return w;
}

std::string default_wire_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 411:
      return "length_required";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 431:
      return "request_header_fields_too_large";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

std::string outcome_of(int status) {
  if (status < 400) return "allowed";
  if (status == 401 || status == 403) return "denied";
  return "error";
}

}  // namespace grafos::registry
