#include "util/result.hpp"

namespace grafos {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::usage:
      return "usage";
    case Errc::invalid_input:
      return "invalid_input";
    case Errc::exists:
      return "exists";
    case Errc::file_missing:
      return "file_missing";
    case Errc::secret_missing:
      return "secret_missing";
    case Errc::token_missing:
      return "token_missing";
    case Errc::io:
      return "io";
    case Errc::crypto:
      return "crypto";
    case Errc::seal_open_failed:
      return "seal_open_failed";
    case Errc::key_backend:
      return "key_backend";
    case Errc::pin:
      return "pin";
    case Errc::policy:
      return "policy";
    case Errc::mismatch:
      return "mismatch";
    case Errc::binary_missing:
      return "binary_missing";
    case Errc::network:
      return "network";
    case Errc::tls:
      return "tls";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::conflict:
      return "conflict";
    case Errc::remote_not_found:
      return "remote_not_found";
    case Errc::bad_request:
      return "bad_request";
    case Errc::bad_name:
      return "bad_name";
    case Errc::limit_exceeded:
      return "limit_exceeded";
    case Errc::tenant_exists:
      return "tenant_exists";
    case Errc::enrollment_token_unknown:
      return "enrollment_token_unknown";
    case Errc::enrollment_token_used:
      return "enrollment_token_used";
    case Errc::enrollment_token_expired:
      return "enrollment_token_expired";
    case Errc::grant_revoked:
      return "grant_revoked";
    case Errc::grant_expired:
      return "grant_expired";
    case Errc::grant_already_active:
      return "grant_already_active";
    case Errc::tenant_not_found:
      return "tenant_not_found";
    case Errc::tenant_has_active_leases:
      return "tenant_has_active_leases";
    case Errc::quota_below_usage:
      return "quota_below_usage";
    case Errc::quota_exceeded:
      return "quota_exceeded";
    case Errc::lease_not_found:
      return "lease_not_found";
    case Errc::lease_not_active:
      return "lease_not_active";
    case Errc::lease_not_fenced:
      return "lease_not_fenced";
    case Errc::token_exists:
      return "token_exists";
    case Errc::token_not_found:
      return "token_not_found";
    case Errc::cell_not_registered:
      return "cell_not_registered";
    case Errc::endpoint_not_found:
      return "endpoint_not_found";
    case Errc::storage:
      return "storage";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace grafos
