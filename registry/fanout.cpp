#include "registry/fanout.hpp"

#include <future>

namespace grafos::registry {

Fanout::~Fanout() = default;

Result<std::unique_ptr<Fanout>> Fanout::open(const ServerConfig& cfg) {
  auto f = std::make_unique<Fanout>();
  if (cfg.mode != ServerMode::orchestrator) return f;
  for (const auto& url : cfg.cells) {
    admin::ClientOptions o;
    o.scheduler = url;
    o.cert = cfg.cell_cert;
    o.key = cfg.cell_key;
    o.ca = cfg.cell_ca.empty() ? cfg.client_ca : cfg.cell_ca;
    if (!cfg.cell_bearer.empty()) o.bearer = cfg.cell_bearer.duplicate();
    o.connect_timeout_ms = cfg.cell_timeout_ms;
    o.timeout_ms = cfg.cell_timeout_ms;
    o.interaction = cfg.interaction;
    auto c = admin::Client::open(std::move(o));
    if (!c) return std::move(c).error().context("cell " + url);
    auto cell = std::make_unique<Cell>();
    cell->url = url;
    cell->client = std::make_unique<admin::Client>(std::move(*c));
    f->cells_.push_back(std::move(cell));
  }
  return f;
}

std::vector<std::pair<std::string, Result<nlohmann::json>>> Fanout::get_all(
    const std::string& path, const admin::Query& query) {
  std::vector<std::future<Result<nlohmann::json>>> fs;
  fs.reserve(cells_.size());
  for (auto& cell : cells_)
    fs.push_back(std::async(std::launch::async, [&cell, &path, &query]() -> Result<nlohmann::json> {
      std::lock_guard lk(cell->mu);
      auto r = cell->client->call("GET", path, "fan-out", query);
      if (!r) return std::move(r).error();
      return std::move(r->json);
    }));
  std::vector<std::pair<std::string, Result<nlohmann::json>>> out;
  out.reserve(cells_.size());
  for (std::size_t i = 0; i < cells_.size(); ++i) out.emplace_back(cells_[i]->url, fs[i].get());
  return out;
}

}  // namespace grafos::registry
