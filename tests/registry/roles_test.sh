#!/usr/bin/env bash
# Role matrix: every endpoint against tenant, observer, admin and cell certificates, plus the bad
# certificates (foreign CA, expired, serverAuth-only EKU, no EKU, CA-as-client: refused in the
# handshake; two URN SANs, case and percent variants, no URN: 403; no certificate: 401). Every
# refusal is audited.
. "$(dirname "$0")/lib.sh"
make_pki
start_server "$T/db" || { echo "Bail out! server did not start"; cat "$T/server.log"; exit 1; }

req admin POST /tenants '{"name":"acme"}' >/dev/null
req admin POST /tenants '{"name":"beta"}' >/dev/null
req admin POST /tenants '{"name":"gone"}' >/dev/null
L_ACME=$(mint tenant-acme acme)
L_ADMIN=$(mint tenant-acme acme)
L_FENCE=$(mint tenant-acme acme)
L_UNF=$(mint tenant-acme acme)
req admin POST "/admin/leases/$L_UNF/fence" '{"reason":"failed"}' >/dev/null
check "setup leases minted" test "$(jq -r .fence_reason "$T/body")" = failed

# endpoint table: NAME|METHOD|PATH|BODY|admin|observer|tenant-acme|tenant-beta|cell
ENDPOINTS=(
  "create-tenant|POST|/tenants|{\"name\":\"n\$RANDOM\"}|201|403|403|403|403"
  "list-tenants|GET|/tenants||200|200|200|200|403"
  "set-quota|POST|/tenants/acme/quota|{\"mem\":1000000}|200|403|403|403|403"
  "audit|GET|/admin/audit||200|200|403|403|403"
  "fenced|GET|/admin/fenced-leases||200|200|403|403|403"
  "fenced-all|GET|/admin/fenced-leases/all||200|200|403|403|403"
  "mint|POST|/tenants/acme/leases|{\"mem\":1}|201|403|201|403|403"
  "cell-register|POST|/cells/register||403|403|403|403|200"
  "cell-poll|GET|/cells/work/poll||403|403|403|403|200"
  "cell-complete|POST|/cells/work/complete|{\"work_id\":\"w1\"}|403|403|403|403|404"
  "fence|POST|/admin/leases/$L_FENCE/fence|{\"reason\":\"fenced\"}|200|403|403|403|403"
  "release|POST|/leases/$L_ACME/release||-|403|200|403|403"
  "release-admin|POST|/leases/$L_ADMIN/release||200|403|-|403|403"
  "unfence|POST|/admin/fenced-leases/$L_UNF/unfence||200|403|403|403|403"
  "delete-tenant|DELETE|/tenants/gone||200|403|403|403|403"
)
ROLES=(admin observer tenant-acme tenant-beta cell)
denied=0
for e in "${ENDPOINTS[@]}"; do
  IFS='|' read -r name method path body s_admin s_obs s_acme s_beta s_cell <<<"$e"
  body=${body//\$RANDOM/$RANDOM}
  wants=("$s_admin" "$s_obs" "$s_acme" "$s_beta" "$s_cell")
  # refused roles first, so the allowed call (which may consume the resource) comes last
  for order in refused allowed; do
    for i in "${!ROLES[@]}"; do
      w=${wants[$i]}
      [ "$w" = - ] && continue
      if [ "$order" = refused ] && [ "$w" != 403 ]; then continue; fi
      if [ "$order" = allowed ] && [ "$w" = 403 ]; then continue; fi
      expect_status "$name as ${ROLES[$i]}" "$w" "${ROLES[$i]}" "$method" "$path" "$body"
      [ "$w" = 403 ] && denied=$((denied + 1))
    done
  done
  for bad in two-urn case-urn upper-urn pct-urn no-urn; do
    expect_status "$name with $bad certificate" 403 "$bad" "$method" "$path" "$body"
    denied=$((denied + 1))
  done
  expect_status "$name without a client certificate" 401 none "$method" "$path" "$body"
  denied=$((denied + 1))
done
# tenant-acme sees only itself in the list
req tenant-acme GET /tenants >/dev/null
check "tenant sees only its own tenant" test "$(jq -c '[.tenants[].name]' "$T/body")" = '["acme"]'
check "403 names the missing role" grep -q 'requires role fabric-admin' <(req observer POST /tenants '{"name":"x1"}'; cat "$T/body")
denied=$((denied + 1))
check "401 body is JSON with code unauthorized" test "$(req none GET /tenants; jq -r .error "$T/body")" = 401unauthorized
denied=$((denied + 1))

got=$(audit_count "outcome=denied")
check "every HTTP-level refusal audited (want $denied, audit has $got)" test "$got" = "$denied"

tls_refused=0
for bad in foreign expired server-eku no-eku ca-as-client; do
  for e in "${ENDPOINTS[@]}"; do
    IFS='|' read -r name method path body _ <<<"$e"
    expect_refused_tls "$name with $bad certificate" "$bad" "$method" "$path" "$body"
    tls_refused=$((tls_refused + 1))
  done
done
got=$(audit_count "kind=auth&outcome=denied" )
want=$((tls_refused + $(jq '[.entries[] | select(.action != "TLS handshake")] | length' "$T/body")))
check "every handshake refusal audited ($tls_refused)" test "$(jq '[.entries[] | select(.action == "TLS handshake")] | length' "$T/body")" = "$tls_refused"
for why in "certificate has expired" "unable to get local issuer certificate" "clientAuth" "unsuitable certificate purpose"; do
  check "handshake refusal audited with reason: $why" grep -q "$why" <(jq -r '.entries[].detail' "$T/body")
done
check "server still alive" kill -0 "$SERVER_PID"
finish
