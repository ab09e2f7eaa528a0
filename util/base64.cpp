#include "util/base64.hpp"

#include <openssl/evp.h>

#include <climits>

namespace grafos {

namespace {
bool is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}
}  // namespace

std::string base64_encode(std::span<const unsigned char> data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  if (data.empty()) return out;
  // EVP_EncodeBlock takes an int length; callers never pass more than the 64 MiB input cap.
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.empty()) return Bytes{};
  if (text.size() % 4 != 0)
    return Error{Errc::invalid_input,
                 "base64 length " + std::to_string(text.size()) + " is not a multiple of 4"};
  if (text.size() > static_cast<size_t>(INT_MAX / 2))
    return Error{Errc::invalid_input, "base64 text is too long"};
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  for (size_t i = 0; i < text.size() - pad; ++i)
    if (!is_b64_char(text[i]))
      return Error{Errc::invalid_input,
                   "base64 has an invalid character at offset " + std::to_string(i)};
  Bytes out(3 * (text.size() / 4));
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size())
    return Error{Errc::invalid_input, "base64 does not decode"};
  out.resize(out.size() - pad);
  // Canonical form only: re-encoding must give back the exact text (rejects set unused bits).
  if (base64_encode(out) != text)
    return Error{Errc::invalid_input, "base64 is not in canonical form"};
  return out;
}

}  // namespace grafos
