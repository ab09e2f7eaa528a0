// The registry's state in one SQLite database: tenants (quotas, bearer-token digests), admin
// tokens, leases, fences, cells and the audit log. The public API is this class; its parts live in
// files by concern: registry/db (the SQLite connection), registry/migrations (the schema),
// registry/audit_log (the audit writer), store_tenants / store_leases / store_tokens /
// store_cells.cpp (one resource each).
//
// Durability: WAL journal with synchronous=FULL, so every acknowledged write (a committed
// transaction) survives SIGKILL and power loss. A mutation and its audit entry commit in the same
// transaction. Audit entries of reads and refusals, and tenant last-used times, are queued and
// group-committed by a background thread at most kFlushInterval later (flush() forces it); a
// SIGKILL can lose that last window of read/refusal audit entries, never a mutation.
//
// Errors carry a domain code (Errc::tenant_exists, Errc::quota_exceeded, Errc::storage for a
// database failure, ...) and a human message; the server maps codes to HTTP statuses and wire
// codes, the tools to exit statuses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "admin/wire.hpp"
#include "registry/audit_log.hpp"
#include "registry/db.hpp"
#include "registry/federation.hpp"
#include "registry/migrations.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::registry {

/// Largest memory of one lease or one tenant quota, in bytes: 2^50 (1 PiB). Larger values are
/// refused with Errc::limit_exceeded (documented in grafos-admin(1) and grafos-registry(1)).
inline constexpr std::uint64_t kMaxMem = std::uint64_t{1} << 50;
/// Largest CPU of one lease or one tenant quota, in cores: 2^20.
inline constexpr std::uint64_t kMaxCpu = std::uint64_t{1} << 20;

/// The audit outcome of a refused or failed request: "denied" for unauthorized and forbidden,
/// "error" otherwise (agrees with the outcome of the status the server answers,
/// registry/wire_errors.hpp outcome_of).
std::string audit_outcome(Errc code);

/// A bearer token resolved to its owner.
struct TokenOwner {
  enum class Kind { tenant, admin } kind = Kind::tenant;
  std::int64_t id = 0;
  std::string name;
  std::string status;  ///< "active" | "disabled"
  std::string role;    ///< admin tokens: "fabric-admin" | "fabric-observer"
  std::string digest;  ///< stored SHA-256 digest (hex), for the constant-time comparison
};

/// All tenants with usage, with what a cache needs to know whether the list is still current.
struct TenantListing {
  std::int64_t version = 0;  ///< state_version() of the snapshot the rows come from
  /// Earliest expiry of an active lease after `now` (usage drops then without any write);
  /// nullopt when no active lease expires later.
  std::optional<std::int64_t> next_expiry;
  std::vector<admin::Tenant> tenants;
};

/// A registered cell.
struct Cell {
  std::string provider;
  std::string cell_id;
  std::int64_t registered_at = 0;
  std::int64_t last_seen = 0;
};

/// What `grafos-registry tenant add` asks for.
struct TenantRequest {
  std::string name;
  std::uint64_t quota_mem = 0;  ///< bytes, 0 = unlimited
  std::uint64_t quota_cpu = 0;  ///< cores, 0 = unlimited
};

/// A tenant just provisioned and its bearer token (shown once; only its digest is stored).
struct ProvisionedTenant {
  admin::Tenant tenant;
  SecretString token;  ///< "gfr_" + 64 hex digits
};

/// What `grafos-registry admin-token add` asks for.
struct AdminTokenRequest {
  std::string name;
  std::string role = "fabric-admin";  ///< "fabric-admin" | "fabric-observer"
};

/// An admin token just created (shown once; only its digest is stored).
struct ProvisionedAdminToken {
  std::int64_t id = 0;
  std::string name;
  std::string role;
  SecretString token;  ///< "gfa_" + 64 hex digits
};

/// One admin bearer token as `admin-token list` shows it: never the token, nor its digest.
struct AdminTokenInfo {
  std::int64_t id = 0;
  std::string name;
  std::string role;    ///< "fabric-admin" | "fabric-observer"
  std::string status;  ///< "active" | "revoked"
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used;  ///< when recorded
};

/// Mints a fresh bearer token for the existing tenant `id_or_name` (all digits: id, else the exact
/// name) in the database at `db_path`, which must exist; the tenant's previous token, if any,
/// stops working. Only the token's SHA-256 digest is stored. Errc::tenant_not_found.
Result<ProvisionedTenant> reissue_tenant_token(const std::string& db_path,
                                               const std::string& id_or_name, std::int64_t now,
                                               const admin::AuditEntry& audit);

/// Errc::bad_name, naming the grammar, unless `name` is a valid tenant (or admin token) name.
Result<void> check_tenant_name(const std::string& name, const char* what = "tenant");

/// Provisions a tenant in the database at `db_path` (created, mode 0600, when missing): checks the
/// name (Errc::bad_name) and quotas (Errc::limit_exceeded) before anything is opened or written,
/// mints a fresh token and stores its SHA-256 digest. Errc::tenant_exists for a taken name.
Result<ProvisionedTenant> provision_tenant(const std::string& db_path, const TenantRequest& request,
                                           std::int64_t now, const admin::AuditEntry& audit);

/// Creates an admin bearer token in the database at `db_path` the same way; Errc::token_exists
/// for a taken name, Errc::invalid_input for an unknown role.
Result<ProvisionedAdminToken> provision_admin_token(const std::string& db_path,
                                                    const AdminTokenRequest& request,
                                                    std::int64_t now,
                                                    const admin::AuditEntry& audit);

/// The registry database. Thread-safe.
class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Opens (and migrates) the database. `create`: create the file if missing. `busy_timeout`:
  /// how long a write waits for another connection (process) holding the write lock.
  static Result<std::unique_ptr<Store>> open(const std::string& path, bool create = true,
                                             std::chrono::milliseconds busy_timeout = kBusyTimeout);

  /// Starts the background group-commit thread (the server does; CLI commands need not).
  void start_flusher();
  /// Commits queued audit entries and last-used times now. When the database is busy or the
  /// commit fails, they stay queued (in order) for the next flush: nothing is dropped.
  void flush();

  // Tenants.
  /// Creates a tenant; `token_digest` (hex SHA-256) may be empty. Errc::bad_name,
  /// Errc::limit_exceeded, Errc::tenant_exists.
  Result<admin::Tenant> create_tenant(const std::string& name, std::uint64_t quota_mem,
                                      std::uint64_t quota_cpu, const std::string& token_digest,
                                      std::int64_t now, const admin::AuditEntry& audit);
  /// All tenants with usage, by id.
  Result<std::vector<admin::Tenant>> list_tenants(std::int64_t now);
  /// list_tenants() with the snapshot's state version and next lease expiry (one transaction).
  Result<TenantListing> list_tenants_versioned(std::int64_t now);
  /// A counter bumped by every committed change to tenants, leases or admin tokens, from any
  /// connection (another process included).
  Result<std::int64_t> state_version();
  /// One tenant by exact name (not_found when absent).
  Result<admin::Tenant> get_tenant(const std::string& name, std::int64_t now);
  /// Seed 002 resolution: all digits = id, otherwise exact name.
  Result<admin::Tenant> resolve_tenant(const std::string& id_or_name, std::int64_t now);
  /// Sets quotas; 409 quota_below_usage unless `force`.
  Result<admin::Tenant> set_quota(const std::string& name, std::uint64_t mem, std::uint64_t cpu,
                                  bool force, std::int64_t now, const admin::AuditEntry& audit);
  /// Sets the quotas that are given and leaves an absent one unchanged (0 = unlimited); 409
  /// quota_below_usage unless `force`. Errc::bad_request when neither is given.
  Result<admin::Tenant> update_quota(const std::string& name, std::optional<std::uint64_t> mem,
                                     std::optional<std::uint64_t> cpu, bool force, std::int64_t now,
                                     const admin::AuditEntry& audit);
  /// Deletes a tenant; 409 tenant_has_active_leases unless `force` (which releases them).
  /// Returns the number of leases released.
  Result<std::int64_t> delete_tenant(const std::string& name, bool force, std::int64_t now,
                                     const admin::AuditEntry& audit);
  /// Sets a tenant's status ("active" | "disabled").
  Result<admin::Tenant> set_tenant_status(std::int64_t id, const std::string& status,
                                          std::int64_t now, const admin::AuditEntry& audit);

  // Tokens.
  /// Creates an admin token; 409 token_exists when the name is taken.
  Result<std::int64_t> create_admin_token(const std::string& name, const std::string& role,
                                          const std::string& token_digest, std::int64_t now,
                                          const admin::AuditEntry& audit);
  /// Admin tokens by id (no secrets).
  Result<std::vector<AdminTokenInfo>> list_admin_tokens();
  /// Revokes the admin token `id_or_name` (all digits: id, else the exact name): every later
  /// request with it gets 401. Revoking a revoked token changes nothing. Errc::token_not_found.
  Result<AdminTokenInfo> revoke_admin_token(const std::string& id_or_name,
                                            const admin::AuditEntry& audit);
  /// Replaces tenant `id`'s token digest (hex SHA-256).
  Result<admin::Tenant> set_tenant_token(std::int64_t id, const std::string& token_digest,
                                         std::int64_t now, const admin::AuditEntry& audit);
  /// Finds the owner of a token digest (tenant first, then admin tokens).
  Result<std::optional<TokenOwner>> find_token(const std::string& digest_hex);
  /// Queues a last-used update for a tenant.
  void touch_tenant(std::int64_t tenant_id, std::int64_t now);

  // Leases.
  /// Mints a lease for `tenant`; 409 quota_exceeded when it would exceed a quota.
  Result<admin::Lease> mint_lease(const std::string& tenant, std::uint64_t mem, std::uint64_t cpu,
                                  std::int64_t ttl, const std::string& holder,
                                  const std::string& node_id, std::int64_t now,
                                  const admin::AuditEntry& audit);
  /// One lease by id.
  Result<admin::Lease> get_lease(const std::string& lease_id);
  /// Releases an active lease (409 not_active otherwise).
  Result<admin::Lease> release_lease(const std::string& lease_id, std::int64_t now,
                                     const admin::AuditEntry& audit);
  /// Fences an active lease with `reason`.
  Result<admin::FencedLease> fence_lease(const std::string& lease_id, const std::string& reason,
                                         std::int64_t now, const admin::AuditEntry& audit);
  /// Clears a fence and releases the capacity; 404, 409 not_fenced.
  Result<admin::FencedLease> unfence_lease(const std::string& lease_id, std::int64_t now,
                                           const admin::AuditEntry& audit);
  /// Fenced leases, newest first.
  Result<std::vector<admin::FencedLease>> list_fenced();

  // Cells.
  /// Registers (or refreshes) a cell.
  Result<Cell> register_cell(const std::string& provider, const std::string& cell_id,
                             std::int64_t now, const admin::AuditEntry& audit);
  /// Whether the cell is registered.
  Result<bool> cell_registered(const std::string& provider, const std::string& cell_id);

  // Audit.
  /// Queues an audit entry (group-committed). `tenant_name`: when the entry has no tenant_id, the
  /// id of the tenant with that name is filled in at commit (left empty when there is none), so
  /// the request path needs no lookup. Entries of refused requests (outcome other than "allowed")
  /// are bounded in the queue (kMaxQueuedRefused, kMaxQueuedRefusedBytes); beyond that they are
  /// dropped and one entry later records how many.
  void audit(admin::AuditEntry entry, std::string tenant_name = {});
  /// Commits an audit entry now (CLI commands, which exit right after).
  Result<void> audit_now(const admin::AuditEntry& entry);
  /// Number of audit entries queued and not yet committed.
  std::size_t queued_audit();
  /// Audit entries of refused requests dropped and not yet recorded by a drop notice.
  std::uint64_t dropped_audit();
  /// Matching entries newest first (flushes the queue first). Limit capped at kMaxAuditLimit.
  Result<std::vector<admin::AuditEntry>> query_audit(const AuditFilter& filter);

  // Timestamps.
  /// Reserves `count` consecutive RFC 3161 serials in one write transaction (durable on return)
  /// and returns the first. Errc::storage when the database refuses; Errc::limit_exceeded when
  /// the counter would pass INT64_MAX.
  Result<std::uint64_t> reserve_tsa_serials(std::uint64_t count);
  // Federation (registry/store_federation.cpp, registry/federation.hpp).
  /// Creates a pending grant (id generated). Errc::invalid_input for a bad peer or user id.
  Result<FedGrant> fed_create_grant(const FedGrantRequest& request, std::int64_t now,
                                    const admin::AuditEntry& audit);
  /// Grants by creation, optionally of one peer and one status (as of `now`; "expired" too).
  Result<std::vector<FedGrant>> fed_list_grants(const std::string& peer_id,
                                                const std::string& status, std::int64_t now);
  /// One grant (Errc::remote_not_found when absent).
  Result<FedGrant> fed_get_grant(const std::string& id);
  /// Revokes a grant and every certificate issued under it. Revoking a revoked grant is
  /// Errc::conflict.
  Result<FedGrant> fed_revoke_grant(const std::string& id, const std::string& reason,
                                    std::int64_t now, const admin::AuditEntry& audit);
  /// Stores a token digest for a pending grant; Errc::conflict when the grant is not pending,
  /// Errc::forbidden when it is revoked or expired.
  Result<FedGrant> fed_create_token(const std::string& grant_id, const std::string& digest,
                                    std::int64_t expires_at, std::int64_t now,
                                    const admin::AuditEntry& audit);
  /// Redeems a token in ONE write transaction: the token is known, unused and unexpired, its
  /// grant pending (not revoked, not expired); then `issue(grant)` signs the certificate, the
  /// token is marked used, the grant activated and the certificate recorded. Anything failing
  /// rolls all of it back. Distinct errors: unknown token (unauthorized), token used (conflict),
  /// token expired (unauthorized), grant revoked (forbidden), grant expired (forbidden), grant
  /// already active (conflict).
  Result<FedEnrollment> fed_redeem(const std::string& digest, std::int64_t now,
                                   const std::function<Result<X509Ptr>(const FedGrant&)>& issue,
                                   const admin::AuditEntry& audit);
  /// The issued certificate with this serial and its grant (nullopt when unknown).
  Result<std::optional<FedPeerAccess>> fed_peer_access(const std::string& serial);
  /// Certificates of revoked grants (for the CRL), and the next CRL number (bumped).
  Result<std::vector<FedIssuedCert>> fed_revoked_certs();
  Result<std::int64_t> fed_next_crl_number();
  /// At most `limit` rows of a federation resource as JSON objects.
  Result<nlohmann::json> fed_read(const std::string& resource, std::int64_t limit,
                                  std::int64_t now);
  /// The enrolling side: creates (or replaces a pending) peer record. Errc::conflict when an
  /// active record of that peer id exists.
  Result<FedPeer> fed_put_peer(const FedPeer& peer, const admin::AuditEntry& audit);
  /// Stores the verified certificate of a pending peer and activates it.
  Result<FedPeer> fed_set_peer_cert(const FedPeer& peer, const admin::AuditEntry& audit);
  /// One local peer record (Errc::remote_not_found when absent), all of them.
  Result<FedPeer> fed_get_peer(const std::string& peer_id);
  Result<std::vector<FedPeer>> fed_list_peers();

  /// PRAGMA integrity_check result ("ok" when sound).
  Result<std::string> integrity_check();

 private:
  Store() = default;
  struct Reader;
  Reader acquire_reader();
  template <class T, class F>
  Result<T> write_tx(F&& body, const admin::AuditEntry& audit);

  std::string path_;
  std::chrono::milliseconds busy_timeout_ = kBusyTimeout;
  std::mutex write_mu_;
  std::unique_ptr<Db> writer_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Db>> readers_;
  std::unique_ptr<AuditLog> audit_log_;  ///< declared after writer_: stops and flushes first
};

}  // namespace grafos::registry
