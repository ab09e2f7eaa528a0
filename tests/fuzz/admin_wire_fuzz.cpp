// libFuzzer target for the admin wire JSON decoders (admin/wire.hpp): strict JSON parsing, then
// the answer shapes. The first byte picks the shape, the rest is the server's answer:
//   'T' tenant  'L' lease  'F' fenced lease  'A' audit entry  'S' source  'E' error body
//   'D' delete-tenant answer; lowercase t l f a s: an array of that shape; anything else: all.
// Decoders never throw and never abort; a value they accept encodes and decodes back to itself.
//
// Stages (tests/fuzz/corpus/admin_wire.expect): json, refused (a decoder ran and refused the
// answer, naming the field), decoded, round-tripped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admin/wire.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "util/json.hpp"

namespace {
using namespace grafos::admin;
using grafos::fuzz::reached;
using nlohmann::json;

// Decodes `j` as T; when accepted, checks that encoding and decoding again gives the same JSON.
template <class T>
bool try_decode(const json& j) {
  auto v = decode<T>(j);
  if (!v) return false;
  json once = *v;
  auto again = decode<T>(once);
  if (!again) std::abort();
  json twice = *again;
  if (once != twice) std::abort();
  return true;
}

template <class T>
bool try_array(const json& j) {
  auto v = decode_array<T>(j, "list");
  if (!v) return false;
  if (v->size() != j.size()) std::abort();
  return true;
}

// Decodes `j` as the shape `sel` names; 0 refused, 1 accepted (and round-tripped), -1 no shape.
int by_selector(char sel, const json& j) {
  switch (sel) {
    case 'T':
      return try_decode<Tenant>(j);
    case 'L':
      return try_decode<Lease>(j);
    case 'F':
      return try_decode<FencedLease>(j);
    case 'A':
      return try_decode<AuditEntry>(j);
    case 'S':
      return try_decode<Source>(j);
    case 'E':
      return try_decode<ErrorBody>(j);
    case 'D':
      return try_decode<DeleteTenantAnswer>(j);
    case 't':
      return try_array<Tenant>(j);
    case 'l':
      return try_array<Lease>(j);
    case 'f':
      return try_array<FencedLease>(j);
    case 'a':
      return try_array<AuditEntry>(j);
    case 's':
      return try_array<Source>(j);
    default:
      return -1;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto j = grafos::parse_json_strict(input);
  if (!j) return 0;
  reached("json");
  int r = by_selector(static_cast<char>(data[0]), *j);
  if (r == -1) {
    r = 0;
    for (char sel : std::string_view("TLFASEDtlfas")) r |= by_selector(sel, *j);
  }
  reached(r ? "round-tripped" : "refused");
  return 0;
}
