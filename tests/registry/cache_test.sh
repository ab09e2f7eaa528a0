#!/usr/bin/env bash
# GET /tenants is answered from a cached listing while the database's state version is unchanged
# and no active lease has expired. These cases prove the cache is never stale: writes through the
# API, writes by another process on the same database file (grafos-registry tenant ..., sqlite3),
# and a lease that expires with no write at all. Also: a schema-1 database is migrated to 4.
. "$(dirname "$0")/lib.sh"
make_pki
DB=$T/db
start_server "$DB" || { echo "Bail out! server did not start"; cat "$T/server.log"; exit 1; }
names() { req admin GET /tenants >/dev/null; jq -r '[.tenants[].name] | join(",")' "$T/body"; }
# Writes from the sqlite3 shell wait for the server's group commit instead of failing with BUSY.
sqlw() { sqlite3 -cmd ".timeout 10000" "$DB" "$1" || echo "# sqlite3 write failed: $1"; }
field() { req admin GET /tenants >/dev/null; jq -r ".tenants[] | select(.name == \"$1\") | .$2" "$T/body"; }

expect_status "create acme" 201 admin POST /tenants '{"name":"acme","quota_mem":1000}'
check "listed once" test "$(names)" = acme
check "listed again (cached) is the same" test "$(names)" = acme
expect_status "create beta through the API" 201 admin POST /tenants '{"name":"beta","quota_mem":10}'
check "an API create shows at once" test "$(names)" = acme,beta

"$GRAFOS_REGISTRY" tenant add outside --db "$DB" >/dev/null
check "a tenant added by another process on the same file shows at once" test "$(names)" = acme,beta,outside
"$GRAFOS_REGISTRY" tenant disable outside --db "$DB" >/dev/null
check "a disable by another process shows at once" test "$(field outside status)" = disabled
sqlw "UPDATE tenants SET quota_mem = 4242 WHERE name = 'beta'"
check "a raw SQL update shows at once" test "$(field beta quota_mem)" = 4242
sqlw "DELETE FROM tenants WHERE name = 'outside'"
check "a raw SQL delete shows at once" test "$(names)" = acme,beta

expect_status "mint a 2 s lease" 201 tenant-acme POST /tenants/acme/leases '{"mem":300,"ttl_seconds":2}'
check "usage counts the lease" test "$(field acme usage_mem)" = 300
req tenant-acme GET /tenants >/dev/null
check "a tenant's list is its own row only" test "$(jq -r '[.tenants[].name] | join(",")' "$T/body")" = acme
sleep 3
check "usage drops when the lease expires, with no write in between" test "$(field acme usage_mem)" = 0
check "active_leases drops too" test "$(field acme active_leases)" = 0
stop_server

# Bearer-token lookups are cached per state version too: a token added, disabled or re-enabled by
# another process takes effect on the next request.
start_server "$DB" --auth token || { echo "Bail out! token server did not start"; cat "$T/server.log"; exit 1; }
"$GRAFOS_REGISTRY" admin-token add ops --db "$DB" >"$T/tok"
TOKEN=$(grep -oE 'gfa_[0-9a-f]{64}' "$T/tok")
expect_status "an admin token added by another process works at once" 200 "bearer:$TOKEN" GET /tenants
expect_status "and again (cached lookup)" 200 "bearer:$TOKEN" GET /tenants
sqlw "UPDATE admin_tokens SET status = 'disabled' WHERE name = 'ops'"
expect_status "an admin token disabled by another process is refused at once" 401 "bearer:$TOKEN" GET /tenants
sqlw "UPDATE admin_tokens SET status = 'active' WHERE name = 'ops'"
expect_status "re-enabled, it works again" 200 "bearer:$TOKEN" GET /tenants
"$GRAFOS_REGISTRY" tenant add tok --db "$DB" >"$T/ttok"
TTOKEN=$(grep -oE 'gfr_[0-9a-f]+' "$T/ttok" | head -1)
expect_status "a tenant token works" 200 "bearer:$TTOKEN" GET /tenants
"$GRAFOS_REGISTRY" tenant disable tok --db "$DB" >/dev/null
expect_status "its tenant disabled by the CLI: 401 on the next request" 401 "bearer:$TTOKEN" GET /tenants
"$GRAFOS_REGISTRY" tenant enable tok --db "$DB" >/dev/null
expect_status "re-enabled by the CLI: accepted again" 200 "bearer:$TTOKEN" GET /tenants
expect_status "an unknown token is refused" 401 "bearer:gfa_$(printf '0%.0s' {1..64})" GET /tenants
expect_status "and refused again (cached miss)" 401 "bearer:gfa_$(printf '0%.0s' {1..64})" GET /tenants
sqlw "DELETE FROM tenants WHERE name = 'tok'"
stop_server


# Migration: turn the database back into schema 1 (no state_version, no triggers) and reopen it.
sqlite3 "$DB" "DROP TRIGGER tenants_ins_version; DROP TRIGGER tenants_upd_version;
  DROP TRIGGER tenants_del_version; DROP TRIGGER leases_ins_version;
  DROP TRIGGER leases_upd_version; DROP TRIGGER leases_del_version;
  DROP TRIGGER admin_tokens_ins_version; DROP TRIGGER admin_tokens_upd_version;
  DROP TRIGGER admin_tokens_del_version;
  DROP TABLE state_version; DROP TABLE tsa_serials; DROP TABLE fed_tokens; DROP TABLE fed_issued;
  DROP TABLE fed_grants; DROP TABLE fed_crl_number; DROP TABLE fed_peers;
  UPDATE schema_version SET version = 1"
start_server "$DB" || { echo "Bail out! restart on a schema-1 database failed"; cat "$T/server.log"; exit 1; }
check "schema 1 is migrated to 4" test "$(sqlite3 "$DB" 'SELECT version FROM schema_version')" = 4
check "the migration keeps the tenants" test "$(names)" = acme,beta
expect_status "create after migration" 201 admin POST /tenants '{"name":"gamma"}'
check "writes after the migration show at once" test "$(names)" = acme,beta,gamma
check "integrity_check ok" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
stop_server
sqlw "UPDATE schema_version SET version = 5"
if "$GRAFOS_REGISTRY" tenant list --db "$DB" >"$T/new.out" 2>"$T/new.err"; then
  not_ok "a database from a newer build is refused"
else
  check "a database from a newer build is refused, naming both versions" grep -q "schema version 5, newer than this build's 4" "$T/new.err"
fi
finish
