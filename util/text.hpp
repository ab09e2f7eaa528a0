// Text that is safe to store and to show: control bytes and invalid UTF-8 written as \xNN.
//
// Anything a client sends (a request path, a principal read from a certificate) may end up in the
// audit log and on an auditor's terminal. escape_text() keeps valid, printable UTF-8 as it is and
// writes every other byte as a visible escape, so no byte sequence can move the cursor, clear the
// screen, reorder text or make a JSON encoder refuse the string.
#pragma once

#include <string>
#include <string_view>

namespace grafos {

/// What escape_text does with a backslash.
enum class Backslash {
  keep,    ///< for display of text that may already be escaped (escaping twice changes nothing)
  escape,  ///< "\\" for a backslash, so that stored text reads back unambiguously
};

/// `s` with these written as \xNN (two lower-case hex digits per byte): C0 controls (TAB, LF and
/// CR included) and DEL; the C1 controls U+0080-U+009F; the bidirectional overrides and isolates
/// U+202A-U+202E and U+2066-U+2069 and the line/paragraph separators U+2028/U+2029; and every byte
/// that is not part of a valid UTF-8 sequence (truncated, overlong, surrogate, above U+10FFFF).
/// The result is valid UTF-8.
std::string escape_text(std::string_view s, Backslash backslash = Backslash::keep);

}  // namespace grafos
