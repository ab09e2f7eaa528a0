#include "util/text.hpp"

#include <cstddef>
#include <cstdint>

namespace grafos {
namespace {

void put_escaped(std::string& out, unsigned char b) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

bool cont(std::string_view s, std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
  if (i >= s.size()) return false;
  auto b = static_cast<unsigned char>(s[i]);
  return b >= lo && b <= hi;
}

// Length of the valid UTF-8 sequence at s[i] (2-4), or 0 when it is not one.
std::size_t sequence_length(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b >= 0xc2 && b <= 0xdf) return cont(s, i + 1) ? 2 : 0;
  if (b == 0xe0) return cont(s, i + 1, 0xa0) && cont(s, i + 2) ? 3 : 0;
  if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
    return cont(s, i + 1) && cont(s, i + 2) ? 3 : 0;
  if (b == 0xed) return cont(s, i + 1, 0x80, 0x9f) && cont(s, i + 2) ? 3 : 0;  // no surrogates
  if (b == 0xf0) return cont(s, i + 1, 0x90) && cont(s, i + 2) && cont(s, i + 3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(s, i + 1) && cont(s, i + 2) && cont(s, i + 3) ? 4 : 0;
  if (b == 0xf4) return cont(s, i + 1, 0x80, 0x8f) && cont(s, i + 2) && cont(s, i + 3) ? 4 : 0;
  return 0;
}

std::uint32_t code_point(std::string_view s, std::size_t i, std::size_t n) {
  auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[k]));
  };
  if (n == 2) return ((b(i) & 0x1f) << 6) | (b(i + 1) & 0x3f);
  if (n == 3) return ((b(i) & 0x0f) << 12) | ((b(i + 1) & 0x3f) << 6) | (b(i + 2) & 0x3f);
  return ((b(i) & 0x07) << 18) | ((b(i + 1) & 0x3f) << 12) | ((b(i + 2) & 0x3f) << 6) |
         (b(i + 3) & 0x3f);
}

// Valid characters a terminal or a reader could be misled by.
bool hidden_control(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string escape_text(std::string_view s, Backslash backslash) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b < 0x20 || b == 0x7f)
        put_escaped(out, b);
      else if (b == '\\' && backslash == Backslash::escape)
        out += "\\\\";
      else
        out += static_cast<char>(b);
      ++i;
      continue;
    }
    std::size_t n = sequence_length(s, i);
    if (n == 0) {
      put_escaped(out, b);  // one byte at a time: what follows is looked at afresh
      ++i;
      continue;
    }
    if (hidden_control(code_point(s, i, n)))
      for (std::size_t k = 0; k < n; ++k) put_escaped(out, static_cast<unsigned char>(s[i + k]));
    else
      out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace grafos
