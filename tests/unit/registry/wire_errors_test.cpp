// The one table from Errc to HTTP status and wire code (registry/wire_errors.cpp), its fallback
// for legacy "code: message" texts, and the request decoding helpers of registry/router.cpp.
#include <gtest/gtest.h>

#include "registry/router.hpp"
#include "registry/wire_errors.hpp"

namespace grafos::registry {
namespace {

struct Case {
  Errc errc;
  int status;
  const char* code;
};

TEST(WireErrors, DomainCodesMapToStatusAndWireCode) {
  for (const auto& c : std::vector<Case>{
           {Errc::bad_request, 400, "bad_request"},
           {Errc::invalid_input, 400, "bad_request"},
           {Errc::bad_name, 400, "bad_name"},
           {Errc::unauthorized, 401, "unauthorized"},
           {Errc::forbidden, 403, "forbidden"},
           {Errc::tenant_not_found, 404, "not_found"},
           {Errc::lease_not_found, 404, "not_found"},
           {Errc::endpoint_not_found, 404, "not_found"},
           {Errc::tenant_exists, 409, "tenant_exists"},
           {Errc::token_exists, 409, "token_exists"},
           {Errc::tenant_has_active_leases, 409, "tenant_has_active_leases"},
           {Errc::quota_below_usage, 409, "quota_below_usage"},
           {Errc::quota_exceeded, 409, "quota_exceeded"},
           {Errc::lease_not_active, 409, "not_active"},
           {Errc::lease_not_fenced, 409, "not_fenced"},
           {Errc::cell_not_registered, 409, "not_registered"},
           {Errc::storage, 500, "internal"},
           {Errc::internal, 500, "internal"},
           {Errc::io, 500, "internal"},
       }) {
    auto w = to_wire(make_error(c.errc, "what happened"));
    EXPECT_EQ(w.status, c.status) << errc_name(c.errc);
    EXPECT_EQ(w.code, c.code) << errc_name(c.errc);
    if (c.status != 500) {
      EXPECT_EQ(w.message, "what happened") << errc_name(c.errc);
    }
  }
}

TEST(WireErrors, A500NeverCarriesItsCause) {
  auto w = to_wire(make_error(Errc::storage, "database: no such table: secrets (/var/lib/x.db)"));
  EXPECT_EQ(w.status, 500);
  EXPECT_EQ(w.message.find("secrets"), std::string::npos);
  auto r = from_error(make_error(Errc::internal, "exception: basic_string::_M_create"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.dump().find("_M_create"), std::string::npos);
  EXPECT_NE(r.log.find("_M_create"), std::string::npos);  // kept for the server's log only
}

TEST(WireErrors, MessagesAreCarriedVerbatim) {
  // The code says what went wrong; the message is never parsed for a "wire_code: " prefix.
  auto w = to_wire(make_error(Errc::lease_not_active, "lease 00 is released"));
  EXPECT_EQ(w.status, 409);
  EXPECT_EQ(w.code, "not_active");
  EXPECT_EQ(w.message, "lease 00 is released");
  w = to_wire(make_error(Errc::conflict, "not_active: looks like a code"));
  EXPECT_EQ(w.code, "conflict");
  EXPECT_EQ(w.message, "not_active: looks like a code");
  w = to_wire(make_error(Errc::limit_exceeded, "lease cpu 1048577 exceeds 1048576"));
  EXPECT_EQ(w.status, 400);
  EXPECT_EQ(w.code, "limit_exceeded");
}

TEST(WireErrors, Outcomes) {
  EXPECT_EQ(outcome_of(200), "allowed");
  EXPECT_EQ(outcome_of(401), "denied");
  EXPECT_EQ(outcome_of(403), "denied");
  EXPECT_EQ(outcome_of(409), "error");
  EXPECT_EQ(default_wire_code(431), "request_header_fields_too_large");
}

TEST(RequestDecoding, AnyBytesRenderAsJson) {
  std::string bad = "GET /api/v1/\xff\xfe\x1b[2K";
  std::string text;
  EXPECT_NO_THROW(text = to_json_text(json{{"action", bad}}));
  EXPECT_NE(text.find("\\u001b"), std::string::npos);
  EXPECT_EQ(text.find('\xff'), std::string::npos);
}

TEST(RequestDecoding, StrictBodies) {
  Request req;
  req.body = R"({"mem":1,"extra":2})";
  auto j = parse_body(req, {"mem"});
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, Errc::bad_request);
  req.body = R"({"mem":1,"mem":2})";
  EXPECT_FALSE(parse_body(req, {"mem"}));
  req.body = "[1]";
  EXPECT_FALSE(parse_body(req, {"mem"}));
  req.body = "";
  EXPECT_TRUE(parse_body(req, {"mem"}));
  req.body = R"({"mem":-1})";
  auto ok_body = parse_body(req, {"mem"});
  ASSERT_TRUE(ok_body);
  EXPECT_FALSE(get_u64(*ok_body, "mem", true));
}

TEST(RequestDecoding, LeaseIdsAndNumbers) {
  EXPECT_EQ(*canonical_lease_id("0xABCDEF0123456789"), "abcdef0123456789");
  EXPECT_FALSE(canonical_lease_id("abc"));
  EXPECT_FALSE(canonical_lease_id("zzzzzzzzzzzzzzzz"));
  EXPECT_EQ(*parse_i64("limit", "10", true), 10);
  EXPECT_FALSE(parse_i64("limit", "-1", true));
  EXPECT_FALSE(parse_i64("since", "99999999999999999999", false));
  EXPECT_FALSE(parse_i64("since", "1e3", false));
  EXPECT_EQ(check_name("bad name").error().code, Errc::bad_name);
}

}  // namespace
}  // namespace grafos::registry
