// Byte helpers: hex encoding and constant-time comparison.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace grafos {

using Bytes = std::vector<std::uint8_t>;

/// Lowercase hex of `data`.
std::string to_hex(std::span<const unsigned char> data);
inline std::string to_hex(std::string_view s) {
  return to_hex(
      std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(s.data()), s.size()));
}

/// Decodes hex (either case); nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);

/// Constant-time equality (length is not secret).
bool constant_time_equal(std::span<const unsigned char> a, std::span<const unsigned char> b);

}  // namespace grafos
