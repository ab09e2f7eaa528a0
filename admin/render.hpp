// Table rows for grafos-admin's default output, built from the server's JSON (admin/wire.hpp).
// The tool lays them out with tools/common format_table; rows[0] is the header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace grafos::admin {

/// Table rows, header first. Every cell has its control bytes and invalid UTF-8 escaped as \xNN
/// (util/text.hpp), whatever the server sent.
using Rows = std::vector<std::vector<std::string>>;

/// IEC size: "0 B", "512 B", "1.5 KiB", "2.0 GiB".
std::string format_bytes(std::uint64_t bytes);

/// A quota: "unlimited" for 0, else format_bytes (or the plain number when `exact`).
std::string format_quota_mem(std::uint64_t bytes, bool exact);

/// Unix seconds as "2026-11-23T18:37:34Z"; 0 as "-".
std::string format_time(std::int64_t unix_seconds);

/// Rows of list-tenants / create-tenant / set-quota. `tenants` is an array of Tenant objects.
/// Default: NAME STATUS MEM_USED MEM_QUOTA CPU_USED CPU_QUOTA LEASES; --wide adds ID, exact
/// byte counts, CREATED and LAST_USED.
Result<Rows> tenant_rows(const nlohmann::json& tenants, bool wide);

/// Rows of audit-query. Default: TIME KIND PRINCIPAL ACTION OUTCOME; --wide adds ID, TENANT_ID,
/// DETAIL and SOURCE.
Result<Rows> audit_rows(const nlohmann::json& entries, bool wide);

/// Rows of list-fenced-leases. Default: LEASE_ID TENANT_ID NODE KIND REASON FENCED_AT; --wide adds
/// CAPACITY, HOLDER, EXPIRES_AT and SOURCE.
Result<Rows> fenced_lease_rows(const nlohmann::json& leases, bool wide);

/// Rows of the `sources` array of a fan-out: SOURCE STATUS COUNT ERROR.
Result<Rows> source_rows(const nlohmann::json& sources);

}  // namespace grafos::admin
