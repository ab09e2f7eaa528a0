#!/usr/bin/env bash
# Issue 16, the operator's first hour on the server side: partial quota updates over the wire
# API, a second `serve` on a busy port, a client certificate as the server certificate, admin
# token list/revoke and tenant tokens for API-created tenants, and --json errors.
. "$(dirname "$0")/lib.sh"
make_pki || { echo "1..0 # SKIP no PKI"; exit 0; }

# ---- set-quota: an absent field keeps its quota (POST /tenants/{name}/quota) ----
start_server "$T/db" || not_ok "server starts"
req admin POST /tenants '{"name":"globex","quota_mem":100}' >/dev/null
expect_status "both quotas" 200 admin POST /tenants/globex/quota '{"mem":100,"cpu":4}'
expect_status "mem alone" 200 admin POST /tenants/globex/quota '{"mem":3221225472}'
check "mem alone keeps cpu 4" test "$(jq_body .quota_cpu)" = 4
check "mem alone sets mem" test "$(jq_body .quota_mem)" = 3221225472
expect_status "cpu alone" 200 admin POST /tenants/globex/quota '{"cpu":8,"force":false}'
check "cpu alone keeps mem" test "$(jq_body .quota_mem)" = 3221225472
expect_status "null mem is absent" 200 admin POST /tenants/globex/quota '{"mem":null,"cpu":8}'
check "null mem keeps mem" test "$(jq_body .quota_mem)" = 3221225472
expect_status "mem 0 is unlimited" 200 admin POST /tenants/globex/quota '{"mem":0}'
check "mem 0 keeps cpu" test "$(jq_body .quota_cpu)" = 8
before=$(sql "$T/db" "SELECT quota_mem, quota_cpu FROM tenants WHERE name='globex'")
expect_status "nothing to change is refused" 400 admin POST /tenants/globex/quota '{"force":true}'
check "refusal names the missing fields" grep -q 'give mem, cpu or both' "$T/body"
check "refusal changed nothing" test "$(sql "$T/db" "SELECT quota_mem, quota_cpu FROM tenants WHERE name='globex'")" = "$before"

# ---- a second serve on the same port: exit 10 before any database is opened ----
FIRST_PORT=$PORT
"$REGISTRY" serve --listen "127.0.0.1:$FIRST_PORT" --db "$T/db2" --cert "$T/pki/server.pem" \
  --key "$T/pki/server-key.pem" --client-ca "$T/pki/ca.pem" >"$T/second.out" 2>"$T/second.err"
rc=$?
check "second serve on a busy port exits 10" test $rc = 10
check "it says cannot listen" grep -q 'cannot listen on 127.0.0.1:'"$FIRST_PORT" "$T/second.err"
check "it says the port is in use" grep -q 'in use' "$T/second.err"
check "it created no database" test ! -e "$T/db2" -a ! -e "$T/db2-wal" -a ! -e "$T/db2-shm"
expect_status "the first still serves" 200 admin GET /tenants
check "the first serves its own database" test "$(jq_body '.tenants[0].name')" = globex
stop_server

# ---- serve --cert must be a server certificate (EKU serverAuth) ----
for bad in tenant-acme no-eku; do
  rm -f "$T/db3"
  "$REGISTRY" serve --listen 127.0.0.1:0 --db "$T/db3" --cert "$T/pki/$bad.pem" \
    --key "$T/pki/$bad-key.pem" --client-ca "$T/pki/ca.pem" >"$T/eku.out" 2>"$T/eku.err"
  rc=$?
  check "serve --cert $bad is refused (exit 3)" test $rc = 3
  check "serve --cert $bad: the error names serverAuth" grep -q 'serverAuth' "$T/eku.err"
  check "serve --cert $bad: no database" test ! -e "$T/db3"
done

# ---- admin tokens: add prints the token alone on stdout; list; revoke ----
DB=$T/db4
"$REGISTRY" admin-token add ops --db "$DB" >"$T/ops.token" 2>"$T/ops.err"
check "admin-token add exits 0" test $? = 0
check "stdout is the token alone" grep -qxE 'gfa_[0-9a-f]{64}' "$T/ops.token"
check "stdout is one line" test "$(wc -l <"$T/ops.token")" = 1
check "the banner is on stderr" grep -q 'Created admin token #1 (ops, fabric-admin)' "$T/ops.err"
"$REGISTRY" admin-token add watch --role fabric-observer --db "$DB" >/dev/null 2>&1
"$REGISTRY" admin-token list --db "$DB" >"$T/list.out" 2>&1
check "list exits 0" test $? = 0
check "list header" grep -qE '^ID +NAME +ROLE +STATE +CREATED +LAST USED$' "$T/list.out"
check "list row ops" grep -qE '^1 +ops +fabric-admin +active ' "$T/list.out"
check "list row watch" grep -qE '^2 +watch +fabric-observer +active ' "$T/list.out"
check "list shows no token" test -z "$(grep -F "$(cut -c5- "$T/ops.token")" "$T/list.out")"
check "list shows no digest" test -z "$(grep -F "$(sql "$DB" "SELECT token_digest FROM admin_tokens WHERE id=1")" "$T/list.out")"
"$REGISTRY" admin-token revoke 1 --db "$DB" >"$T/rev.out" 2>&1
check "revoke by id exits 0" test $? = 0
check "revoke says so" grep -q 'Revoked admin token #1 (ops)' "$T/rev.out"
"$REGISTRY" admin-token list --db "$DB" | grep -qE '^1 +ops +fabric-admin +revoked ' &&
  ok "list shows revoked" || not_ok "list shows revoked"
before=$(sqlite3 "$DB" "SELECT * FROM admin_tokens" | md5sum)
"$REGISTRY" admin-token revoke nobody --db "$DB" >"$T/nr.out" 2>"$T/nr.err"; rc=$?
check "revoke of no match exits 1" test $rc = 1
check "no match message" grep -q "No admin token matched 'nobody'" "$T/nr.err"
check "no match changed nothing" test "$(sqlite3 "$DB" "SELECT * FROM admin_tokens" | md5sum)" = "$before"
"$REGISTRY" admin-token list --db "$T/none.db" >/dev/null 2>&1; rc=$?
check "list on a missing database fails (exit 6)" test $rc = 6
check "and does not create it" test ! -e "$T/none.db"

# The revoked token is refused by a running server; the other still works.
start_server "$DB" --auth token || not_ok "token server starts"
expect_status "revoked admin token gets 401" 401 "bearer:$(cat "$T/ops.token")" GET /tenants
"$REGISTRY" admin-token add ops2 --db "$DB" >"$T/ops2.token" 2>/dev/null
expect_status "a fresh admin token works" 201 "bearer:$(cat "$T/ops2.token")" POST /tenants '{"name":"apitenant"}'

# ---- tenant token for a tenant created over the API ----
"$REGISTRY" tenant token apitenant --db "$DB" >"$T/t.token" 2>"$T/t.err"
check "tenant token exits 0" test $? = 0
check "tenant token prints the token alone" grep -qxE 'gfr_[0-9a-f]{64}' "$T/t.token"
DIG=$(tr -d '\n' <"$T/t.token" | sha256sum | cut -d' ' -f1)
check "only the digest is stored" test "$(sql "$DB" "SELECT token_digest FROM tenants WHERE name='apitenant'")" = "$DIG"
expect_status "the tenant token works" 200 "bearer:$(cat "$T/t.token")" GET /tenants
check "it sees its own tenant only" test "$(jq_body '.tenants | length')" = 1
"$REGISTRY" tenant token apitenant --db "$DB" >"$T/t2.token" 2>/dev/null
expect_status "the previous tenant token stops working" 401 "bearer:$(cat "$T/t.token")" GET /tenants
expect_status "the new one works" 200 "bearer:$(cat "$T/t2.token")" GET /tenants
stop_server
"$REGISTRY" tenant token ghost --db "$DB" >"$T/g.out" 2>"$T/g.err"; rc=$?
check "tenant token for no tenant exits 1" test $rc = 1
check "and prints no token" test ! -s "$T/g.out"

# ---- --json errors are JSON on stdout too ----
"$REGISTRY" --json tenant disable ghost --db "$DB" >"$T/j.out" 2>"$T/j.err"; rc=$?
check "json error exit 1" test $rc = 1
check "json error object on stdout" test "$(jq -r .error "$T/j.out")" = tenant_not_found
check "json error message" grep -q "No tenant matched 'ghost'" "$T/j.out"
check "text error on stderr" grep -q "error: No tenant matched 'ghost'" "$T/j.err"
"$REGISTRY" --json admin-token add --db "$DB" >"$T/ju.out" 2>/dev/null; rc=$?
check "json usage error exit 2" test $rc = 2
check "json usage error object" test "$(jq -r .error "$T/ju.out")" = usage

# The same mechanism (tools/common) serves grafos-ca: one JSON object on stdout per error.
"$GCA" issue-cert --ca-cert "$T/missing-ca.pem" --ca-key "$T/missing-key.pem" --tenant acme \
  --out "$T/never" --json >"$T/ca.out" 2>"$T/ca.err"; rc=$?
check "grafos-ca --json error exits non-zero" test $rc != 0
check "grafos-ca --json error is one JSON object" test "$(jq -c 'has("error") and has("message")' "$T/ca.out")" = true
check "grafos-ca --json error writes nothing" test ! -e "$T/never"
echo '{}' >"$T/record.json"
"$GCA" image-provenance verify --input "$T/record.json" --json >"$T/v.out" 2>/dev/null
check "image-provenance verify --json still prints exactly one object" test "$(jq -s length "$T/v.out")" = 1
finish
