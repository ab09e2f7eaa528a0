// Bearer tokens: admin tokens, and resolving a token digest to its tenant or admin owner.
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "registry/auth.hpp"
#include "registry/store.hpp"
#include "registry/store_internal.hpp"

namespace grafos::registry {

using admin::AuditEntry;

namespace {
Result<void> check_role(const std::string& role) {
  if (role == "fabric-admin" || role == "fabric-observer") return ok();
  return make_error(Errc::invalid_input,
                    "admin token role must be fabric-admin or fabric-observer");
}
}  // namespace

Result<ProvisionedAdminToken> provision_admin_token(const std::string& db_path,
                                                    const AdminTokenRequest& req, std::int64_t now,
                                                    const AuditEntry& audit) {
  // Checked before the database is opened: a refused name or role creates no file.
  if (auto n = check_tenant_name(req.name, "token"); !n) return std::move(n).error();
  if (auto r = check_role(req.role); !r) return std::move(r).error();
  auto store = Store::open(db_path, true);
  if (!store) return store.error();
  auto token = generate_token("gfa_");
  if (!token) return token.error();
  auto id =
      (*store)->create_admin_token(req.name, req.role, token_digest(token->view()), now, audit);
  if (!id) return id.error();
  return ProvisionedAdminToken{*id, req.name, req.role, std::move(*token)};
}

Result<std::int64_t> Store::create_admin_token(const std::string& name, const std::string& role,
                                               const std::string& digest, std::int64_t now,
                                               const AuditEntry& audit) {
  return write_tx<std::int64_t>(
      [&](Db& db, AuditEntry&) -> Result<std::int64_t> {
        if (auto n = check_tenant_name(name, "token"); !n) return std::move(n).error();
        if (auto r = check_role(role); !r) return std::move(r).error();
        auto chk = db.prepare("SELECT id FROM admin_tokens WHERE name = ?");
        if (!chk) return chk.error();
        bind_text(*chk, 1, name);
        bool exists = sqlite3_step(*chk) == SQLITE_ROW;
        sqlite3_reset(*chk);
        if (exists)
          return make_error(Errc::token_exists, "an admin token named '" + name + "' exists");
        auto st = db.prepare(
            "INSERT INTO admin_tokens(name, role, created_at, token_digest) VALUES(?,?,?,?)");
        if (!st) return st.error();
        bind_text(*st, 1, name);
        bind_text(*st, 2, role);
        sqlite3_bind_int64(*st, 3, now);
        bind_text(*st, 4, digest);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("creating admin token");
        return sqlite3_last_insert_rowid(db.handle());
      },
      audit);
}

namespace {

AdminTokenInfo admin_token_row(sqlite3_stmt* st) {
  AdminTokenInfo t;
  t.id = sqlite3_column_int64(st, 0);
  t.name = col_text(st, 1);
  t.role = col_text(st, 2);
  t.status = col_text(st, 3);
  t.created_at = sqlite3_column_int64(st, 4);
  if (sqlite3_column_type(st, 5) != SQLITE_NULL) t.last_used = sqlite3_column_int64(st, 5);
  return t;
}

constexpr const char* kAdminTokenById =
    "SELECT id, name, role, status, created_at, last_used FROM admin_tokens WHERE id = ?";
constexpr const char* kAdminTokenByName =
    "SELECT id, name, role, status, created_at, last_used FROM admin_tokens WHERE name = ?";
constexpr const char* kAdminTokensAll =
    "SELECT id, name, role, status, created_at, last_used FROM admin_tokens ORDER BY id";

// All digits: the id; anything else: the exact name.
Result<std::optional<AdminTokenInfo>> admin_token_matching(Db& db, const std::string& arg) {
  bool digits = !arg.empty() && arg.find_first_not_of("0123456789") == std::string::npos;
  auto st = db.prepare(digits ? kAdminTokenById : kAdminTokenByName);
  if (!st) return st.error();
  if (digits) {
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(arg.c_str(), &end, 10);
    if (errno != 0 || v > static_cast<unsigned long long>(INT64_MAX))
      return std::optional<AdminTokenInfo>{};
    sqlite3_bind_int64(*st, 1, static_cast<std::int64_t>(v));
  } else {
    bind_text(*st, 1, arg);
  }
  std::optional<AdminTokenInfo> out;
  if (sqlite3_step(*st) == SQLITE_ROW) out = admin_token_row(*st);
  sqlite3_reset(*st);
  return out;
}

}  // namespace

Result<std::vector<AdminTokenInfo>> Store::list_admin_tokens() {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  auto st = r.db->prepare(kAdminTokensAll);
  if (!st) return st.error();
  std::vector<AdminTokenInfo> out;
  while (sqlite3_step(*st) == SQLITE_ROW) out.push_back(admin_token_row(*st));
  sqlite3_reset(*st);
  return out;
}

Result<AdminTokenInfo> Store::revoke_admin_token(const std::string& arg, const AuditEntry& audit) {
  return write_tx<AdminTokenInfo>(
      [&](Db& db, AuditEntry&) -> Result<AdminTokenInfo> {
        auto t = admin_token_matching(db, arg);
        if (!t) return t.error();
        if (!*t) return make_error(Errc::token_not_found, "No admin token matched '" + arg + "'");
        if ((*t)->status == "revoked") return std::move(**t);
        auto st = db.prepare("UPDATE admin_tokens SET status = 'revoked' WHERE id = ?");
        if (!st) return st.error();
        sqlite3_bind_int64(*st, 1, (*t)->id);
        if (sqlite3_step(*st) != SQLITE_DONE) return db.error("revoking admin token");
        (*t)->status = "revoked";
        return std::move(**t);
      },
      audit);
}

Result<std::optional<TokenOwner>> Store::find_token(const std::string& digest) {
  auto r = acquire_reader();
  if (!r.db) return store_detail::no_reader();
  auto st =
      r.db->prepare("SELECT id, name, status, token_digest FROM tenants WHERE token_digest = ?");
  if (!st) return st.error();
  bind_text(*st, 1, digest);
  std::optional<TokenOwner> out;
  if (sqlite3_step(*st) == SQLITE_ROW) {
    TokenOwner o;
    o.kind = TokenOwner::Kind::tenant;
    o.id = sqlite3_column_int64(*st, 0);
    o.name = col_text(*st, 1);
    o.status = col_text(*st, 2);
    o.role = "tenant";
    o.digest = col_text(*st, 3);
    out = std::move(o);
  }
  sqlite3_reset(*st);
  if (out) return out;
  auto st2 = r.db->prepare(
      "SELECT id, name, status, token_digest, role FROM admin_tokens WHERE token_digest = ?");
  if (!st2) return st2.error();
  bind_text(*st2, 1, digest);
  if (sqlite3_step(*st2) == SQLITE_ROW) {
    TokenOwner o;
    o.kind = TokenOwner::Kind::admin;
    o.id = sqlite3_column_int64(*st2, 0);
    o.name = col_text(*st2, 1);
    o.status = col_text(*st2, 2);
    o.digest = col_text(*st2, 3);
    o.role = col_text(*st2, 4);
    out = std::move(o);
  }
  sqlite3_reset(*st2);
  return out;
}

}  // namespace grafos::registry
