#!/usr/bin/env bash
# Orchestrator fan-out: two cells, one stopped. audit?all=true and fenced-leases/all return the
# live cell's entries tagged with their source, and report the dead cell in "sources".
. "$(dirname "$0")/lib.sh"
make_pki
start_server "$T/cell1.db" || { echo "Bail out! cell1"; exit 1; }
C1_PID=$SERVER_PID; C1=$URL; detach_server
start_server "$T/cell2.db" || { echo "Bail out! cell2"; exit 1; }
C2_PID=$SERVER_PID; C2=$URL; detach_server
# state on cell 1: a tenant, a lease, a fence
URL=$C1
req admin POST /tenants '{"name":"acme"}' >/dev/null
L=$(mint tenant-acme acme '{"mem":64}')
req admin POST "/admin/leases/$L/fence" '{"reason":"fenced"}' >/dev/null
check "cell 1 minted a lease" grep -qE '^[0-9a-f]{16}$' <<<"$L"
check "cell 1 fenced it" test "$(jq -r .lease_id "$T/body")" = "$L"
URL=$C2
req admin POST /tenants '{"name":"cell2only"}' >/dev/null
kill "$C2_PID"; wait "$C2_PID" 2>/dev/null
start_server "$T/orch.db" --mode orchestrator --cell "$C1" --cell "$C2" \
  --cell-cert "$T/pki/observer.pem" --cell-key "$T/pki/observer-key.pem" --cell-timeout-ms 1500 ||
  { echo "Bail out! orchestrator"; cat "$T/server.log"; exit 1; }
ORCH=$URL
start=$(date +%s%N)
expect_status "audit --all" 200 admin GET '/admin/audit?all=true&limit=1000'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "fan-out bounded by the timeout (${ms} ms)" test "$ms" -lt 8000
check "three sources reported" test "$(jq '.sources | length' "$T/body")" = 3
check "orchestrator itself ok" test "$(jq -r ".sources[] | select(.url == \"$ORCH\") | .ok" "$T/body")" = true
check "live cell ok" test "$(jq -r ".sources[] | select(.url == \"$C1\") | .ok" "$T/body")" = true
check "dead cell reported not ok" test "$(jq -r ".sources[] | select(.url == \"$C2\") | .ok" "$T/body")" = false
check "dead cell has an error text" test -n "$(jq -r ".sources[] | select(.url == \"$C2\") | .error" "$T/body")"
check "live cell entries tagged with source" test "$(jq "[.entries[] | select(.source == \"$C1\")] | length" "$T/body")" -gt 0
check "cell 1's fence is in the merged audit" grep -q "/admin/leases/$L/fence" "$T/body"
check "merged newest first" test "$(jq '[.entries[].time] | . == (sort | reverse)' "$T/body")" = true
expect_status "audit --all with limit" 200 admin GET '/admin/audit?all=true&limit=2'
check "limit applies to the merge" test "$(jq '.entries | length' "$T/body")" = 2
# skip + limit saturates at the page cap instead of overflowing into a negative limit for the cells.
expect_status "audit --all with skip at INT64_MAX" 200 admin GET '/admin/audit?all=true&skip=9223372036854775807'
check "huge skip: the live cell is asked a valid page and answers" test "$(jq -r ".sources[] | select(.url == \"$C1\") | .ok" "$T/body")" = true
check "huge skip: nothing past the end" test "$(jq '.entries | length' "$T/body")" = 0
expect_status "audit --all with skip near INT64_MAX and the largest limit" 200 admin GET '/admin/audit?all=true&skip=9223372036854775000&limit=1000'
check "near-max skip: the live cell answers" test "$(jq -r ".sources[] | select(.url == \"$C1\") | .ok" "$T/body")" = true
expect_status "fenced-leases/all" 200 observer GET /admin/fenced-leases/all
check "live cell's fenced lease listed with source" test "$(jq -r ".leases[] | select(.lease_id == \"$L\") | .source" "$T/body")" = "$C1"
jq -c . "$T/body" | head -c 600 | sed "s/^/# /"; echo
check "dead cell reported in fenced sources" test "$(jq -r ".sources[] | select(.url == \"$C2\") | .ok" "$T/body")" = false
expect_status "audit without all: no fan-out" 200 admin GET '/admin/audit'
check "no fan-out: one source" test "$(jq '.sources | length' "$T/body")" = 1
# A tenant certificate authenticates only where its tenant exists (else 401); then the role refuses.
expect_status "fan-out: a tenant unknown to the orchestrator is not authenticated" 401 tenant-acme GET /admin/fenced-leases/all
req admin POST /tenants '{"name":"acme"}' >/dev/null
expect_status "fan-out refused to a tenant" 403 tenant-acme GET /admin/fenced-leases/all
# cell mode: all=true has no effect
URL=$C1
expect_status "cell ignores all=true" 200 admin GET '/admin/audit?all=true'
check "cell reports only itself" test "$(jq '.sources | length' "$T/body")" = 1
finish
