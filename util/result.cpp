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
    case Errc::not_found:
      return "not_found";
    case Errc::io:
      return "io";
    case Errc::crypto:
      return "crypto";
    case Errc::key_backend:
      return "key_backend";
    case Errc::pin:
      return "pin";
    case Errc::policy:
      return "policy";
    case Errc::mismatch:
      return "mismatch";
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
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace grafos
