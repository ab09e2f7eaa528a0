// The audit log and the fenced-lease listing, each merged across cells in orchestrator mode.
#include <algorithm>

#include "registry/fanout.hpp"
#include "registry/router.hpp"

namespace grafos::registry {
namespace {

// Merges the cells' answers: each item of `field` tagged with its source, a Source per cell.
template <class T>
void merge_cells(std::vector<std::pair<std::string, Result<json>>>& results, const char* field,
                 std::vector<T>& merged, std::vector<admin::Source>& sources) {
  for (auto& [url, r] : results) {
    admin::Source s{url, false, "", 0};
    if (!r) {
      s.error = r.error().message;
    } else {
      try {
        auto list = r->at(field).template get<std::vector<T>>();
        for (auto& item : list) {
          item.source = url;
          merged.push_back(std::move(item));
        }
        s.ok = true;
        s.count = static_cast<std::int64_t>(list.size());
      } catch (const std::exception&) {
        s.error = std::string("malformed answer: no valid '") + field + "' list";
      }
    }
    sources.push_back(std::move(s));
  }
}

Reply audit(const Request& req, Services& s) {
  AuditFilter f;
  for (auto& [k, v] : req.params) {
    if (k == "kind") {
      f.kinds.push_back(v);
    } else if (k == "outcome") {
      f.outcomes.push_back(v);
    } else if (k == "principal") {
      f.principal = v;
    } else if (k == "tenant_id" || k == "since" || k == "until" || k == "skip" || k == "limit") {
      auto n = parse_i64(k, v, k == "skip" || k == "limit" || k == "tenant_id");
      if (!n) return from_error(n.error());
      if (k == "tenant_id") f.tenant_id = *n;
      if (k == "since") f.since = *n;
      if (k == "until") f.until = *n;
      if (k == "skip") f.skip = *n;
      if (k == "limit") f.limit = std::min(*n, kMaxAuditLimit);
    } else if (k != "all") {
      std::string shown;
      for (char c : k.substr(0, 40)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
      return from_error(make_error(Errc::bad_request, "unknown query parameter '" + shown + "'"));
    }
  }
  auto all = parse_flag(req, "all");
  if (!all) return from_error(all.error());
  bool fan = *all && s.cfg.mode == ServerMode::orchestrator;
  AuditFilter local = f;
  if (fan) {
    local.skip = 0;
    // Each source's first skip + limit entries, at most kMaxAuditLimit (saturating: skip may be
    // as large as INT64_MAX).
    local.limit = f.skip >= kMaxAuditLimit - f.limit ? kMaxAuditLimit : f.skip + f.limit;
  }
  auto entries = s.store.query_audit(local);
  if (!entries) return from_error(entries.error());
  std::vector<admin::AuditEntry> merged = std::move(*entries);
  std::vector<admin::Source> sources;
  sources.push_back({s.cfg.self_url, true, "", static_cast<std::int64_t>(merged.size())});
  if (fan) {
    for (auto& e : merged) e.source = s.cfg.self_url;
    admin::Query q;
    for (auto& k : f.kinds) q.emplace_back("kind", k);
    for (auto& o : f.outcomes) q.emplace_back("outcome", o);
    if (f.tenant_id) q.emplace_back("tenant_id", std::to_string(*f.tenant_id));
    if (!f.principal.empty()) q.emplace_back("principal", f.principal);
    if (f.since) q.emplace_back("since", std::to_string(*f.since));
    if (f.until) q.emplace_back("until", std::to_string(*f.until));
    q.emplace_back("limit", std::to_string(local.limit));
    auto results = s.fanout.get_all("/admin/audit", q);
    merge_cells(results, "entries", merged, sources);
    std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) {
      if (a.time != b.time) return a.time > b.time;
      return a.id > b.id;
    });
    auto skip = std::min<std::size_t>(static_cast<std::size_t>(f.skip), merged.size());
    merged.erase(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(skip));
    if (merged.size() > static_cast<std::size_t>(f.limit))
      merged.resize(static_cast<std::size_t>(f.limit));
  }
  Reply r;
  r.body = json{{"entries", merged}, {"sources", sources}};
  return r;
}

Reply fenced(Services& s, bool all) {
  auto leases = s.store.list_fenced();
  if (!leases) return from_error(leases.error());
  std::vector<admin::FencedLease> merged = std::move(*leases);
  std::vector<admin::Source> sources;
  sources.push_back({s.cfg.self_url, true, "", static_cast<std::int64_t>(merged.size())});
  if (all && s.cfg.mode == ServerMode::orchestrator) {
    for (auto& l : merged) l.source = s.cfg.self_url;
    auto results = s.fanout.get_all("/admin/fenced-leases");
    merge_cells(results, "leases", merged, sources);
    std::stable_sort(merged.begin(), merged.end(),
                     [](const auto& a, const auto& b) { return a.fenced_at > b.fenced_at; });
  }
  Reply r;
  r.body = json{{"leases", merged}, {"sources", sources}};
  return r;
}

}  // namespace

void add_audit_routes(Router& router, Services& s) {
  Services* sp = &s;
  router.add({"GET", "/admin/fenced-leases", "admin", Access::admin_read,
              [sp](const Request&, const Principal&) { return fenced(*sp, false); }});
  router.add({"GET", "/admin/fenced-leases/all", "admin", Access::admin_read,
              [sp](const Request&, const Principal&) { return fenced(*sp, true); }});
  router.add({"GET", "/admin/audit", "admin", Access::admin_read,
              [sp](const Request& req, const Principal&) { return audit(req, *sp); }});
}

}  // namespace grafos::registry
