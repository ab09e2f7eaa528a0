#include "registry/access.hpp"

#include <chrono>
#include <span>

#include "util/bytes.hpp"

namespace grafos::registry {
namespace {

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::optional<TokenOwner>> Gatekeeper::find_token_cached(const std::string& digest,
                                                                std::int64_t version) {
  {
    std::lock_guard lk(tokens_mu_);
    if (tokens_version_ == version) {
      auto it = tokens_.find(digest);
      if (it != tokens_.end()) return it->second;
    }
  }
  auto owner = store_.find_token(digest);
  if (!owner) return owner.error();
  std::lock_guard lk(tokens_mu_);
  if (tokens_version_ != version) {
    tokens_.clear();
    tokens_version_ = version;
  }
  if (tokens_.size() >= kMaxCached) tokens_.clear();
  tokens_.emplace(digest, *owner);
  return owner;
}

Result<Principal> Gatekeeper::bearer_principal(std::string_view header, bool required) {
  if (header.empty()) {
    if (required) return make_error(Errc::unauthorized, "bearer token required");
    return Principal{};
  }
  if (!header.starts_with("Bearer ") || header.size() > 7 + 256)
    return make_error(Errc::unauthorized, "Authorization must be 'Bearer <token>'");
  std::string digest = token_digest(header.substr(7));
  auto version = store_.state_version();
  if (!version) return version.error();
  auto owner = find_token_cached(digest, *version);
  if (!owner) return owner.error();
  if (!*owner) return make_error(Errc::unauthorized, "invalid bearer token");
  auto& o = **owner;
  if (!constant_time_equal(
          std::span(reinterpret_cast<const unsigned char*>(o.digest.data()), o.digest.size()),
          std::span(reinterpret_cast<const unsigned char*>(digest.data()), digest.size())))
    return make_error(Errc::unauthorized, "invalid bearer token");
  if (o.status != "active")
    return make_error(
        Errc::unauthorized,
        "the token's " +
            std::string(o.kind == TokenOwner::Kind::tenant ? "tenant" : "admin token") + " '" +
            o.name + "' is disabled");
  Principal p;
  p.via_token = true;
  p.state_version = *version;
  if (o.kind == TokenOwner::Kind::tenant) {
    p.role = Role::tenant;
    p.tenant = o.name;
    p.tenant_id = o.id;
    p.name = "token:" + o.name;
    store_.touch_tenant(o.id, now_s());
  } else {
    p.role = o.role == "fabric-observer" ? Role::fabric_observer : Role::fabric_admin;
    p.admin_token = p.role == Role::fabric_admin;
    p.name = "admin-token:" + o.name;
  }
  return p;
}

Result<void> Gatekeeper::check_tenant_active(Principal& p) {
  auto version = p.state_version ? Result<std::int64_t>(*p.state_version) : store_.state_version();
  if (!version) return version.error();
  p.state_version = *version;
  std::string status;
  bool cached = false;
  {
    std::lock_guard lk(tenants_mu_);
    if (tenants_version_ == *version) {
      if (auto it = tenant_status_.find(p.tenant); it != tenant_status_.end()) {
        status = it->second;
        cached = true;
      }
    }
  }
  if (!cached) {
    auto t = store_.get_tenant(p.tenant, now_s());
    if (t) {
      status = t->status;
    } else if (t.error().code != Errc::tenant_not_found) {
      return t.error();
    }
    std::lock_guard lk(tenants_mu_);
    if (tenants_version_ != *version) {
      tenant_status_.clear();
      tenants_version_ = *version;
    }
    if (tenant_status_.size() >= kMaxCached) tenant_status_.clear();
    tenant_status_.emplace(p.tenant, status);
  }
  if (status.empty())
    return make_error(Errc::unauthorized, "tenant '" + p.tenant + "' does not exist");
  if (status != "active")
    return make_error(Errc::unauthorized, "tenant '" + p.tenant + "' is disabled");
  return ok();
}

Result<Principal> Gatekeeper::authenticate(SSL* ssl, std::string_view authorization) {
  if (mode_ == AuthMode::token) return bearer_principal(authorization, true);
  X509* cert = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (!cert)
    return make_error(Errc::unauthorized,
                      "a client certificate issued by the fabric CA is required");
  if (SSL_get_verify_result(ssl) != X509_V_OK)
    return make_error(Errc::unauthorized, "client certificate not verified");
  auto p = principal_from_cert(cert);
  if (!p) return make_error(Errc::forbidden, p.error().message);
  if (mode_ == AuthMode::mtls_token && !authorization.empty()) {
    auto b = bearer_principal(authorization, false);
    if (!b) return b.error();
    p->admin_token = b->admin_token;
    p->state_version = b->state_version;
  }
  if (p->role == Role::tenant)
    if (auto a = check_tenant_active(*p); !a) return a.error();
  return p;
}

Result<void> Gatekeeper::authorize(const Principal& p, Access a) const {
  auto deny = [&](const std::string& need) {
    return make_error(Errc::forbidden, "requires role " + need + " (caller " + p.name +
                                           " has role " + std::string(role_name(p.role)) + ")");
  };
  switch (a) {
    case Access::admin_write:
      if (p.role != Role::fabric_admin) return deny("fabric-admin");
      if (mode_ == AuthMode::mtls_token && !p.admin_token)
        return make_error(Errc::unauthorized,
                          "writes require a FabricAdmin bearer token under --auth mtls+token");
      return ok();
    case Access::read:
      if (p.role == Role::cell) return deny("fabric-observer, fabric-admin or tenant");
      return ok();
    case Access::admin_read:
      if (p.role != Role::fabric_admin && p.role != Role::fabric_observer)
        return deny("fabric-observer or fabric-admin");
      return ok();
    case Access::lease:
      if (p.role != Role::fabric_admin && p.role != Role::tenant)
        return deny("tenant or fabric-admin");
      // A tenant mints and releases its own leases with its certificate alone; a fabric-admin
      // lease write, on any tenant, is an admin write.
      if (p.role == Role::fabric_admin && mode_ == AuthMode::mtls_token && !p.admin_token)
        return make_error(Errc::unauthorized,
                          "fabric-admin lease writes require a FabricAdmin bearer token under "
                          "--auth mtls+token");
      return ok();
    case Access::cell:
      if (p.role != Role::cell) return deny("cell");
      return ok();
    case Access::any:
      return ok();
  }
  return ok();
}

}  // namespace grafos::registry
