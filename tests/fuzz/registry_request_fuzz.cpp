// libFuzzer target for grafos-registry's request decoding (registry/router.hpp): the
// request-target (Boost.URL origin-form, percent-decoding, query parameters), then the strict JSON
// body and the typed field and parameter readers the handlers use. The input is
// "<target>\n<body>". Decoders never throw and never abort; whatever they accept is within the
// bounds the handlers rely on (the audit action of any target is printable ASCII).
//
// Stages (tests/fuzz/corpus/registry_request.expect): target-refused, target-decoded, api-route
// (under /api/v1/), body-refused, body-decoded, fields-read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry/router.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {
using namespace grafos::registry;
using grafos::fuzz::reached;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto t = decode_target(target);
  if (!t) {
    reached("target-refused");
    return 0;
  }
  reached("target-decoded");
  Request req;
  req.method = "POST";
  req.path = t->path;
  req.params = t->params;
  req.body = std::string(body);
  for (const auto& [k, v] : req.params) {
    (void)parse_i64(k, v, true);
    (void)parse_i64(k, v, false);
  }
  (void)parse_flag(req, "force");
  if (t->api_v1) {
    reached("api-route");
    for (const auto& seg : t->segments) {
      (void)canonical_lease_id(seg);
      (void)check_name(seg);
    }
  }
  auto j = parse_body(req, {"name", "quota_mem", "quota_cpu", "mem", "cpu", "force", "reason"});
  if (!j) {
    reached("body-refused");
    return 0;
  }
  reached("body-decoded");
  if (!j->is_object()) std::abort();  // parse_body promises an object
  auto name = get_str(*j, "name", false);
  auto mem = get_u64(*j, "quota_mem", false);
  auto cpu = get_u64(*j, "cpu", false);
  auto force = get_bool(*j, "force");
  // Accepted integers are within int64 (the store's columns).
  if (mem && *mem > static_cast<std::uint64_t>(INT64_MAX)) std::abort();
  if (cpu && *cpu > static_cast<std::uint64_t>(INT64_MAX)) std::abort();
  if (name && mem && cpu && force) reached("fields-read");
  return 0;
}
