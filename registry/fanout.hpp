// The orchestrator's fan-out: the same GET to every cell in parallel, over the grafos-admin
// libcurl client (one TLS policy, one JSON decoder; --cell-key is any key reference).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/client.hpp"
#include "registry/server.hpp"
#include "util/result.hpp"

namespace grafos::registry {

class Fanout {
 public:
  /// Opens one client per cell (loads --cell-key once). Nothing to do outside orchestrator mode.
  static Result<std::unique_ptr<Fanout>> open(const ServerConfig& cfg);
  ~Fanout();

  /// GET `path` (under /api/v1) with `query` from every cell at once; per cell URL, the parsed
  /// JSON answer or why there is none.
  std::vector<std::pair<std::string, Result<nlohmann::json>>> get_all(
      const std::string& path, const admin::Query& query = {});

 private:
  struct Cell {
    std::string url;
    std::unique_ptr<admin::Client> client;  ///< null when it could not be opened
    Error open_error;
    std::mutex mu;  ///< one request at a time per cell (the key backend may not be re-entrant)
  };
  std::vector<std::unique_ptr<Cell>> cells_;
};

}  // namespace grafos::registry
