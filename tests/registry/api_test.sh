#!/usr/bin/env bash
# Server rules of the admin API: tenants, quotas, leases, fences, audit filters, hostile input,
# and the token / mtls+token auth modes. Each refusal checks the status, the error code and that
# nothing was written.
. "$(dirname "$0")/lib.sh"
make_pki
DB=$T/db
start_server "$DB" || { echo "Bail out! server did not start"; cat "$T/server.log"; exit 1; }
code() { jq -r .error "$T/body"; }
ntenants() { sqlite3 "$DB" 'SELECT COUNT(*) FROM tenants'; }

# ---- tenants ----
expect_status "create acme" 201 admin POST /tenants '{"name":"acme","quota_mem":1000}'
check "create returns the tenant" test "$(jq -r '.name + ":" + (.quota_mem|tostring)' "$T/body")" = acme:1000
expect_status "duplicate name" 409 admin POST /tenants '{"name":"acme"}'
check "duplicate -> tenant_exists" test "$(code)" = tenant_exists
for bad in 'a b' '../etc' "a'; DROP TABLE tenants;--" '-lead' '' 'ac%6de' 'x:y' "$(printf 'a%.0s' {1..64})" 'na\u00efve' 'a/b' '.hidden'; do
  expect_status "bad name '${bad:0:20}'" 400 admin POST /tenants "{\"name\":\"$bad\"}"
  check "bad name '${bad:0:20}' -> bad_name" test "$(code)" = bad_name
done
check "refused names wrote nothing" test "$(ntenants)" = 1
expect_status "path trick in quota path" 400 admin POST "/tenants/a%27b/quota" '{"mem":1}'
expect_status "encoded slash in delete path" 404 admin DELETE "/tenants/..%2F..%2Fetc"
expect_status "set-quota unknown tenant" 404 admin POST /tenants/nobody/quota '{"mem":1}'
check "404 -> not_found" test "$(code)" = not_found
expect_status "delete unknown tenant" 404 admin DELETE /tenants/nobody

# ---- hostile bodies ----
expect_status "malformed JSON" 400 admin POST /tenants '{"name":'
expect_status "duplicate keys" 400 admin POST /tenants '{"name":"dup1","name":"dup2"}'
check "duplicate keys named" grep -qi duplicate "$T/body"
expect_status "unknown field refused" 400 admin POST /tenants '{"name":"unk","colour":"red"}'
check "unknown field named" grep -q "unknown field 'colour'" "$T/body"
expect_status "wrong type" 400 admin POST /tenants '{"name":"wt","quota_mem":"lots"}'
expect_status "negative quota" 400 admin POST /tenants '{"name":"neg","quota_mem":-1}'
expect_status "quota beyond int64" 400 admin POST /tenants '{"name":"big","quota_mem":18446744073709551615}'
expect_status "trailing bytes" 400 admin POST /tenants '{"name":"tr"} x'
expect_status "array body" 400 admin POST /tenants '["acme"]'
deep=$(printf '[%.0s' {1..200})
expect_status "deep nesting" 400 admin POST /tenants "{\"name\":$deep"
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big"
expect_status "oversized body" 413 admin POST /tenants "{\"name\":\"$(cat "$T/big")\"}"
check "413 -> payload_too_large" test "$(code)" = payload_too_large
check "hostile bodies wrote nothing" test "$(ntenants)" = 1
expect_status "unknown endpoint" 404 admin GET /nope
check "server alive after hostile input" kill -0 "$SERVER_PID"

# ---- leases and quotas ----
expect_status "mint 600" 201 tenant-acme POST /tenants/acme/leases '{"mem":600,"ttl_seconds":600}'
L1=$(jq -r .lease_id "$T/body")
check "lease id is 16 lowercase hex" grep -qE '^[0-9a-f]{16}$' <<<"$L1"
expect_status "mint beyond quota" 409 tenant-acme POST /tenants/acme/leases '{"mem":500}'
check "-> quota_exceeded" test "$(code)" = quota_exceeded
expect_status "mint with zero resources" 400 tenant-acme POST /tenants/acme/leases '{"mem":0}'
expect_status "other tenant's lease path" 404 admin POST /tenants/zzz/leases '{"mem":1}'
expect_status "quota below usage" 409 admin POST /tenants/acme/quota '{"mem":100}'
check "-> quota_below_usage" test "$(code)" = quota_below_usage
check "quota unchanged after refusal" test "$(sqlite3 "$DB" "SELECT quota_mem FROM tenants WHERE name='acme'")" = 1000
expect_status "quota below usage with force" 200 admin POST /tenants/acme/quota '{"mem":100,"force":true}'
check "forced quota set, usage kept" test "$(jq -r '"\(.quota_mem)/\(.usage_mem)"' "$T/body")" = 100/600
expect_status "raise quota" 200 admin POST /tenants/acme/quota '{"mem":10000,"cpu":8}'
expect_status "delete with active lease" 409 admin DELETE /tenants/acme
check "-> tenant_has_active_leases" test "$(code)" = tenant_has_active_leases
check "tenant kept after refusal" test "$(ntenants)" = 1
expect_status "bad force value" 400 admin DELETE '/tenants/acme?force=maybe'

# ---- fences ----
expect_status "unfence unknown lease" 404 admin POST /admin/fenced-leases/00000000000000aa/unfence
expect_status "unfence malformed id" 400 admin POST "/admin/fenced-leases/xyz/unfence"
expect_status "unfence active (not fenced)" 409 admin POST "/admin/fenced-leases/$L1/unfence"
check "-> not_fenced" test "$(code)" = not_fenced
expect_status "fence bad reason" 400 admin POST "/admin/leases/$L1/fence" '{"reason":"whatever"}'
expect_status "fence" 200 admin POST "/admin/leases/0x$L1/fence" '{"reason":"failed"}'
expect_status "list fenced" 200 observer GET /admin/fenced-leases
check "fenced lease listed with capacity" test "$(jq -r '.leases[0] | "\(.lease_id) \(.fence_reason) \(.capacity)"' "$T/body")" = "$L1 failed 600"
check "sources reports self" test "$(jq -r '.sources[0].ok' "$T/body")" = true
req admin GET /tenants >/dev/null
check "fenced capacity still counts as usage" test "$(jq -r '.tenants[0].usage_mem' "$T/body")" = 600
expect_status "unfence" 200 admin POST "/admin/fenced-leases/$L1/unfence"
req admin GET /tenants >/dev/null
check "tenant list is compact sorted-key JSON (fast serialiser == json dump)" test "$(cat "$T/body")" = "$(jq -cS . "$T/body")"
check "unfence released the capacity" test "$(jq -r '.tenants[0].usage_mem' "$T/body")" = 0
expect_status "unfence twice" 409 admin POST "/admin/fenced-leases/$L1/unfence"
req admin GET /admin/fenced-leases >/dev/null
check "fenced list empty" test "$(jq '.leases | length' "$T/body")" = 0

# ---- delete with force ----
req tenant-acme POST /tenants/acme/leases '{"mem":5}' >/dev/null
req tenant-acme POST /tenants/acme/leases '{"cpu":1}' >/dev/null
expect_status "delete with force" 200 admin DELETE '/tenants/acme?force=true'
check "force released both leases" test "$(jq -r .released_leases "$T/body")" = 2
check "leases marked released" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM leases WHERE state='active'")" = 0
expect_status "deleted tenant is gone" 404 admin POST /tenants/acme/quota '{"mem":1}'

# ---- audit filters ----
sleep 1
T0=$(date +%s)
req admin POST /tenants '{"name":"later"}' >/dev/null
expect_status "audit default" 200 observer GET /admin/audit
check "newest first" test "$(jq '[.entries[].id] | . == (sort | reverse)' "$T/body")" = true
check "default limit at most 100" test "$(jq '.entries | length <= 100' "$T/body")" = true
expect_status "audit limit=3" 200 observer GET '/admin/audit?limit=3'
check "limit honoured" test "$(jq '.entries | length' "$T/body")" = 3
expect_status "audit kind=lease" 200 admin GET '/admin/audit?kind=lease'
check "only lease entries" test "$(jq -r '[.entries[].kind] | unique | join(",")' "$T/body")" = lease
expect_status "audit kind repeated" 200 admin GET '/admin/audit?kind=lease&kind=tenant&limit=1000'
check "lease and tenant entries" test "$(jq -r '[.entries[].kind] | unique | join(",")' "$T/body")" = lease,tenant
expect_status "audit outcome=error" 200 admin GET '/admin/audit?outcome=error&limit=1000'
check "only errors" test "$(jq -r '[.entries[].outcome] | unique | join(",")' "$T/body")" = error
expect_status "audit principal substring" 200 admin GET '/admin/audit?principal=tenant:acme&limit=1000'
check "principal filter" test "$(jq -r '[.entries[].principal] | unique | join(",")' "$T/body")" = urn:fabricbios:tenant:acme
expect_status "audit since (inclusive)" 200 admin GET "/admin/audit?since=$T0&kind=tenant"
check "since keeps the later create" grep -q '"POST /api/v1/tenants"' "$T/body"
check "since drops earlier" test "$(jq "[.entries[] | select(.time < $T0)] | length" "$T/body")" = 0
expect_status "audit until" 200 admin GET "/admin/audit?until=$((T0 - 1))&limit=1000"
check "until drops later" test "$(jq "[.entries[] | select(.time >= $T0)] | length" "$T/body")" = 0
req admin GET '/admin/audit?kind=tenant&limit=5' >/dev/null; first5=$(jq -c '[.entries[].id]' "$T/body")
req admin GET '/admin/audit?kind=tenant&limit=2&skip=3' >/dev/null
check "skip/limit paginate" test "$(jq -c '[.entries[].id]' "$T/body")" = "$(jq -c '.[3:5]' <<<"$first5")"
expect_status "huge limit capped" 200 admin GET '/admin/audit?limit=99999999999'
check "capped at 1000" test "$(jq '.entries | length <= 1000' "$T/body")" = true
expect_status "limit not a number" 400 admin GET '/admin/audit?limit=abc'
expect_status "negative skip" 400 admin GET '/admin/audit?skip=-1'
# Numbers beyond int64: 400 with a clear message, never a 500.
for q in since=9999999999999999999 until=-9999999999999999999 skip=9223372036854775808 \
  limit=99999999999999999999 tenant_id=18446744073709551616 since=$(printf '9%.0s' {1..400}); do
  expect_status "audit ${q:0:40}" 400 admin GET "/admin/audit?$q"
  check "audit ${q:0:40} -> bad_request, out of range" \
    test "$(jq -r '.error + " " + (.message | test("out of range") | tostring)' "$T/body")" = "bad_request true"
done
check "out-of-range message names the parameter and the range" \
  grep -q "query parameter 'since' is out of range (an integer from -9223372036854775808 to 9223372036854775807)" "$T/body"
for q in since=1x since=+5 'since=%205' since=- since=0x10; do
  expect_status "audit $q" 400 admin GET "/admin/audit?$q"
  check "audit $q -> must be an integer" grep -q "query parameter 'since' must be an integer" "$T/body"
done
expect_status "since at INT64_MAX" 200 admin GET '/admin/audit?since=9223372036854775807'
check "since at INT64_MAX matches nothing" test "$(jq '.entries | length' "$T/body")" = 0
expect_status "since at INT64_MIN" 200 admin GET '/admin/audit?since=-9223372036854775808&limit=1'
expect_status "skip at INT64_MAX" 200 admin GET '/admin/audit?skip=9223372036854775807&all=true'
check "skip at INT64_MAX returns nothing" test "$(jq '.entries | length' "$T/body")" = 0
expect_status "unknown query parameter" 400 admin GET '/admin/audit?colour=red'
expect_status "tenant_id filter" 200 admin GET '/admin/audit?tenant_id=1&limit=1000'
check "tenant_id filter" test "$(jq -r '[.entries[].tenant_id] | unique | join(",")' "$T/body")" = 1
# Reads and refusals by a tenant certificate carry the tenant's id.
req admin POST /tenants '{"name":"acme"}' >/dev/null
ACME_ID=$(jq -r .id "$T/body")
expect_status "tenant lists its tenant" 200 tenant-acme GET /tenants
expect_status "tenant refused the audit" 403 tenant-acme GET /admin/audit
req admin GET "/admin/audit?principal=tenant:acme&since=$T0&limit=1000" >/dev/null
check "tenant read audited with its tenant_id" \
  test "$(jq -r '[.entries[] | select(.action == "GET /api/v1/tenants") | .tenant_id] | first' "$T/body")" = "$ACME_ID"
check "tenant refusal audited with its tenant_id, outcome denied" \
  test "$(jq -r '[.entries[] | select(.action == "GET /api/v1/admin/audit") | "\(.tenant_id) \(.outcome)"] | first' "$T/body")" = "$ACME_ID denied"
expect_status "tenant_id filter finds the tenant's reads" 200 admin GET "/admin/audit?tenant_id=$ACME_ID&kind=tenant&limit=1000"
check "tenant_id filter: the read is there" grep -q '"GET /api/v1/tenants"' "$T/body"
# A disabled tenant fails authentication on every endpoint, by certificate as by token (seed 002),
# and the refusal is audited under its tenant (401 denied, 409 error).
"$REGISTRY" tenant disable acme --db "$DB" >/dev/null
expect_status "mint on a disabled tenant" 401 tenant-acme POST /tenants/acme/leases '{"mem":1}'
expect_status "a disabled tenant's certificate cannot list" 401 tenant-acme GET /tenants
"$REGISTRY" tenant enable acme --db "$DB" >/dev/null
req admin GET "/admin/audit?kind=auth&tenant_id=$ACME_ID&limit=2" >/dev/null
check "refused mint audited as denied" \
  test "$(jq -r '.entries[1] | "\(.action) \(.outcome)"' "$T/body")" = "POST /api/v1/tenants/acme/leases denied"
expect_status "re-enabled: the certificate works again" 200 tenant-acme GET /tenants
expect_status "duplicate tenant" 409 admin POST /tenants '{"name":"acme"}'
req admin GET "/admin/audit?kind=tenant&limit=1" >/dev/null
check "409 audited as error" test "$(jq -r '.entries[0] | "\(.action) \(.outcome)"' "$T/body")" = "POST /api/v1/tenants error"
req admin DELETE /tenants/acme >/dev/null
stop_server

# ---- token mode ----
"$REGISTRY" tenant add tok --db "$DB" >"$T/add.out"
TOK=$(grep -oE 'gfr_[0-9a-f]{64}' "$T/add.out")
"$REGISTRY" admin-token add ops --db "$DB" >"$T/adm.out"
ADM=$(grep -oE 'gfa_[0-9a-f]{64}' "$T/adm.out")
"$REGISTRY" admin-token add dash --role fabric-observer --db "$DB" >"$T/obs.out"
OBS=$(grep -oE 'gfa_[0-9a-f]{64}' "$T/obs.out")
start_server "$DB" --auth token || { echo "Bail out! token server"; exit 1; }
expect_status "token: no bearer" 401 none GET /tenants
expect_status "token: wrong bearer" 401 "bearer:gfr_$(printf '0%.0s' {1..64})" GET /tenants
expect_status "token: tenant lists" 200 "bearer:$TOK" GET /tenants
check "token: tenant sees only itself" test "$(jq -c '[.tenants[].name]' "$T/body")" = '["tok"]'
expect_status "token: tenant mints own lease" 201 "bearer:$TOK" POST /tenants/tok/leases '{"mem":1}'
expect_status "token: tenant cannot create tenants" 403 "bearer:$TOK" POST /tenants '{"name":"x2"}'
expect_status "token: observer token cannot write" 403 "bearer:$OBS" POST /tenants '{"name":"x3"}'
expect_status "token: observer token reads audit" 200 "bearer:$OBS" GET /admin/audit
expect_status "token: admin token creates" 201 "bearer:$ADM" POST /tenants '{"name":"x4"}'
req "bearer:$OBS" GET '/admin/audit?principal=token:tok&kind=tenant&limit=1' >/dev/null
check "token: a tenant token's read audited with the tenant's id" \
  test "$(jq -r '.entries[0] | "\(.action) \(.tenant_id)"' "$T/body")" = "GET /api/v1/tenants $(sqlite3 "$DB" "SELECT id FROM tenants WHERE name = 'tok'")"
expect_status "token: client cert alone is not enough" 401 admin GET /tenants
"$REGISTRY" tenant disable tok --db "$DB" >/dev/null
expect_status "token: disabled tenant 401" 401 "bearer:$TOK" GET /tenants
expect_status "token: disabled tenant 401 on mint" 401 "bearer:$TOK" POST /tenants/tok/leases '{"mem":1}'
"$REGISTRY" tenant enable tok --db "$DB" >/dev/null
expect_status "token: re-enabled tenant works again" 200 "bearer:$TOK" GET /tenants
sleep 0.1
check "last_used recorded" test -n "$(sqlite3 "$DB" "SELECT last_used FROM tenants WHERE name='tok'")"
check "token never stored in clear" test -z "$(sqlite3 "$DB" .dump | grep -F "$TOK")"
check "token never logged" test -z "$(cat "$T"/server-*.log | grep -F "${TOK:4}")"
stop_server

# ---- mtls+token ----
start_server "$DB" --auth mtls+token || { echo "Bail out! mtls+token server"; exit 1; }
expect_status "mtls+token: read without bearer" 200 admin GET /tenants
expect_status "mtls+token: write without bearer" 401 admin POST /tenants '{"name":"m1"}'
check "mtls+token: says a FabricAdmin bearer is needed" grep -q 'FabricAdmin bearer' "$T/body"
expect_status "mtls+token: write with tenant bearer" 401 "admin+bearer:$TOK" POST /tenants '{"name":"m2"}'
expect_status "mtls+token: write with bad bearer" 401 "admin+bearer:nope" POST /tenants '{"name":"m3"}'
expect_status "mtls+token: write with admin bearer" 201 "admin+bearer:$ADM" POST /tenants '{"name":"m4"}'
expect_status "mtls+token: observer cert + admin bearer still 403" 403 "observer+bearer:$ADM" POST /tenants '{"name":"m5"}'
expect_status "mtls+token: bearer without cert" 401 "bearer:$ADM" GET /tenants
check "mtls+token: refused writes wrote nothing" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM tenants WHERE name IN ('m1','m2','m3','m5')")" = 0
# Lease writes: a fabric-admin certificate needs the FabricAdmin bearer too; a tenant's own
# certificate alone mints and releases its own leases.
expect_status "mtls+token: create acme" 201 "admin+bearer:$ADM" POST /tenants '{"name":"acme","quota_mem":100}'
ACME_ID=$(jq -r .id "$T/body")
expect_status "mtls+token: admin cert mints without bearer" 401 admin POST /tenants/acme/leases '{"mem":1}'
check "mtls+token: lease refusal says a FabricAdmin bearer is needed" grep -q 'FabricAdmin bearer' "$T/body"
expect_status "mtls+token: admin cert mints with an observer bearer" 401 "admin+bearer:$OBS" POST /tenants/acme/leases '{"mem":1}'
check "mtls+token: refused admin mints wrote nothing" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM leases WHERE tenant_id = $ACME_ID")" = 0
expect_status "mtls+token: tenant cert mints its own lease" 201 tenant-acme POST /tenants/acme/leases '{"mem":1}'
LT=$(jq -r .lease_id "$T/body")
expect_status "mtls+token: tenant cert cannot mint for another tenant" 403 tenant-acme POST /tenants/tok/leases '{"mem":1}'
expect_status "mtls+token: admin cert + admin bearer mints" 201 "admin+bearer:$ADM" POST /tenants/acme/leases '{"mem":1}'
LA=$(jq -r .lease_id "$T/body")
expect_status "mtls+token: admin cert releases without bearer" 401 admin POST "/leases/$LT/release"
check "mtls+token: refused release kept the lease" test "$(sqlite3 "$DB" "SELECT state FROM leases WHERE lease_id = '$LT'")" = active
expect_status "mtls+token: admin cert + admin bearer releases" 200 "admin+bearer:$ADM" POST "/leases/$LA/release"
expect_status "mtls+token: tenant cert releases its own lease" 200 tenant-acme POST "/leases/$LT/release"
check "mtls+token: refused lease writes audited as denied" \
  test "$(audit_count "kind=auth&outcome=denied&principal=fabric-admin" >/dev/null; jq '[.entries[] | select(.action | test("leases"))] | length' "$T/body")" = 3
check "integrity_check ok" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
finish
