// Strict base64 (RFC 4648 standard alphabet, padded) over OpenSSL's EVP_EncodeBlock and
// EVP_DecodeBlock. Decoding refuses whitespace, a wrong length, misplaced padding and
// non-canonical encodings (unused low bits set), so one JSON string has exactly one meaning.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace grafos {

/// Encodes `data` as padded standard base64 without line breaks.
std::string base64_encode(std::span<const unsigned char> data);

/// Encodes a string's bytes as base64.
inline std::string base64_encode(std::string_view s) {
  return base64_encode(
      std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(s.data()), s.size()));
}

/// Decodes canonical padded base64; Errc::invalid_input names the problem.
Result<Bytes> base64_decode(std::string_view text);

}  // namespace grafos
