// RFC 7512 PKCS#11 URIs, the key reference of the pkcs11 backend.
//
// Grammar accepted (RFC 7512 section 2.3, the subset a CA needs):
//   pkcs11:<path-attr>=<value>[;<path-attr>=<value>...][?<query-attr>=<value>[&...]]
//   path attributes:  token, object, id (percent-encoded bytes), serial, slot-id (decimal),
//                     manufacturer, model, library-manufacturer, library-description,
//                     library-version, slot-description, slot-manufacturer, type
//   query attributes: module-path, module-name, pin-source (file: URIs only), pin-value
//   vendor attributes (x-...) are accepted and ignored; any other attribute is refused.
// Example:
//   pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//         &pin-source=file:/run/ca.pin
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::hsm {

/// A parsed PKCS#11 URI. Move-only: it may hold a pin-value.
struct Pkcs11Uri {
  std::optional<std::string> token;         ///< CKA token label (token=)
  std::optional<std::string> object;        ///< CKA_LABEL (object=)
  std::optional<Bytes> id;                  ///< CKA_ID (id=, percent-decoded bytes)
  std::optional<std::string> serial;        ///< token serial number (serial=)
  std::optional<unsigned long> slot_id;     ///< slot id (slot-id=, decimal)
  std::optional<std::string> manufacturer;  ///< token manufacturer (manufacturer=)
  std::optional<std::string> model;         ///< token model (model=)
  std::optional<std::string> type;          ///< object type (type=): public, private, cert, ...
  std::string module_path;                  ///< module-path= (empty when absent)
  std::string module_name;                  ///< module-name= (empty when absent)
  std::optional<std::string> pin_file;      ///< path from pin-source=file:...
  std::optional<SecretString> pin_value;    ///< pin-value= (discouraged: visible to others)
};

/// Parses an RFC 7512 URI. Errors (Errc::invalid_input) name the rule that was broken and never
/// contain the pin-value.
Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view uri);

/// Decodes RFC 3986 percent-encoding ("%2F" -> '/'); refuses a malformed escape.
Result<std::string> percent_decode(std::string_view in);

/// True when `ref` starts with the scheme "pkcs11:" in any case (RFC 3986 schemes are
/// case-insensitive; parse_pkcs11_uri accepts "PKCS11:" too).
bool has_pkcs11_scheme(std::string_view ref);

/// `uri` safe for messages: split like parse_pkcs11_uri (path on ';', query on '&'), with every
/// attribute whose name is pin-value (any case, percent-decoded) shown as "pin-value=<redacted>".
/// When the structure is in doubt (a fragment, a second '?', an empty part, a part without '=',
/// an attribute name the parser does not know), everything after the scheme is redacted:
/// "pkcs11:<redacted>". Anything without the pkcs11: scheme is returned unchanged.
std::string redact_pkcs11_uri(std::string_view uri);

}  // namespace grafos::hsm
