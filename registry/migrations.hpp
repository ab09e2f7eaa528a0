// The registry database's schema and its versions: migration N brings version N-1 to N.
#pragma once

#include <string>

#include "registry/db.hpp"
#include "util/result.hpp"

namespace grafos::registry {

/// Latest schema version this build writes; older databases are migrated on open.
inline constexpr int kSchemaVersion = 4;

/// Brings the database on `db` to kSchemaVersion in one transaction; refuses a database newer
/// than this build (Errc::invalid_input). `path` is for messages.
Result<void> migrate(Db& db, const std::string& path);

}  // namespace grafos::registry
