// RFC 3161 timestamps: POST /timestamp, application/timestamp-query in, application/timestamp-reply
// out (RFC 3161 section 3.4), answered by the TSA of registry/tsa.hpp.
#include <algorithm>
#include <cctype>

#include "registry/router.hpp"
#include "registry/tsa.hpp"

namespace grafos::registry {
namespace {

constexpr std::string_view kQueryType = "application/timestamp-query";
constexpr std::string_view kReplyType = "application/timestamp-reply";

// The media type of a Content-Type value, lowercased, parameters and whitespace removed.
std::string media_type(std::string_view v) {
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out(v);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A refusal whose HTTP status has no domain code of its own (415, 413).
Reply refusal(int status, std::string code, std::string message) {
  Reply r;
  r.status = status;
  r.detail = code + ": " + message;
  r.body = admin::ErrorBody{std::move(code), std::move(message)};
  return r;
}

}  // namespace

void add_timestamp_routes(Router& router, Tsa& tsa) {
  router.add({"POST", "/timestamp", "timestamp", Access::any,
              [&tsa](const Request& req, const Principal&) {
                if (media_type(req.content_type) != kQueryType)
                  return refusal(415, "unsupported_media_type",
                                 "a timestamp request must be sent as " + std::string(kQueryType) +
                                     " (RFC 3161 section 3.4)");
                if (req.body.size() > kMaxTimestampQuery)
                  return refusal(413, "payload_too_large",
                                 "a timestamp query is at most " +
                                     std::to_string(kMaxTimestampQuery) + " bytes");
                auto answer = tsa.respond(req.body);
                if (!answer) return from_error(answer.error());
                Reply r;
                r.status = 200;
                r.raw = std::move(answer->der);
                r.content_type = std::string(kReplyType);
                r.detail = answer->summary;
                return r;
              }});
}

}  // namespace grafos::registry
