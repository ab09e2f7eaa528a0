#!/usr/bin/env bash
# Issue 12's server-side fixes: any bytes in a path survive the audit log and its reading; a 500
# carries a request id and never the cause, which goes to the server's log; a handshake refused
# for an unverified certificate is audited under its fingerprint, not the principal it claims; a
# disabled or deleted tenant's certificate fails authentication on every endpoint.
. "$(dirname "$0")/lib.sh"
make_pki
DB=$T/db
start_server "$DB" || { echo "Bail out! server did not start"; cat "$T/server.log"; exit 1; }
P=$T/pki
expect_status "create acme" 201 admin POST /tenants '{"name":"acme"}'
expect_status "create beta" 201 admin POST /tenants '{"name":"beta"}'

# ---- bytes in the path ----
got=$(curl -sS --max-time 10 --cacert "$P/ca.pem" -o "$T/body" -w '%{http_code}' --path-as-is \
  "$URL/api/v1/%ff%fe")
check "GET /api/v1/%ff%fe without a certificate: 401 ($got)" test "$got" = 401
curl -sS --max-time 10 --cacert "$P/ca.pem" -o /dev/null --path-as-is "$URL/api/v1/%1b%5b2K%1b%5d0;x%07" || true
curl -sS --max-time 10 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
  -o /dev/null --path-as-is "$URL/api/v1/tenants/%ff%00x/quota" -X POST --data-binary '' || true
sleep 0.1
expect_status "the audit log stays readable" 200 admin GET '/admin/audit?limit=1000'
check "the audit answer is valid JSON" jq -e '.entries | length > 0' "$T/body"
check "the %ff%fe request is in it, escaped" grep -q 'GET /api/v1/%FF%FE' "$T/body"
check "no raw control byte in the answer" bash -c "! LC_ALL=C grep -q \$'\\x1b' '$T/body'"
check "no invalid UTF-8 in the answer" iconv -f UTF-8 -t UTF-8 "$T/body" -o /dev/null
expect_status "the unauthenticated path 404 is readable too" 200 observer GET '/admin/audit?kind=auth&limit=1000'

# ---- a 500 names a request id, never its cause ----
# Break the state-version table under the running server: listing tenants fails in SQLite.
sqlite3 "$DB" 'ALTER TABLE state_version RENAME TO state_version_gone'
curl -sS --max-time 10 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
  -D "$T/headers" -o "$T/body" -w '%{http_code}' "$URL/api/v1/tenants" >"$T/status"
got=$(cat "$T/status")
check "a storage failure answers 500 ($got)" test "$got" = 500
check "500 body: code internal" test "$(jq -r .error "$T/body")" = internal
rid=$(tr -d '\r' <"$T/headers" | awk -F': ' 'tolower($1) == "x-request-id" {print $2}')
check "500 carries an X-Request-Id header ($rid)" grep -qE '^[0-9a-f]{16}$' <<<"$rid"
check "the message quotes the request id" grep -q "request id $rid" "$T/body"
check "no cause in the answer" bash -c "! grep -qiE 'sqlite|no such|state_version|exception' '$T/body' '$T/headers'"
check "no EXCEPTION_WHAT header" bash -c "! grep -qi exception_what '$T/headers'"
check "the cause is in the server's log under the id" grep -q "request $rid: GET /api/v1/tenants: .*state_version" "$SERVER_LOG"
sqlite3 "$DB" 'ALTER TABLE state_version_gone RENAME TO state_version'
expect_status "repaired: tenants list again" 200 admin GET /tenants

# ---- unverified certificates ----
# A self-signed certificate claiming fabric-admin, and one from a foreign CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/self-key.pem" \
  -out "$P/self.pem" -days 2 -subj /CN=fabric-admin \
  -addext 'subjectAltName=URI:urn:fabricbios:fabric-admin' -addext 'extendedKeyUsage=clientAuth' 2>/dev/null
expect_refused_tls "self-signed fabric-admin certificate refused" self GET /tenants
expect_refused_tls "foreign-CA fabric-admin certificate refused" foreign GET /tenants
self_fp=$(openssl x509 -in "$P/self.pem" -outform DER | sha256sum | cut -d' ' -f1)
sleep 0.1
req admin GET '/admin/audit?kind=auth&limit=1000' >/dev/null
hs() { jq -r '[.entries[] | select(.action == "TLS handshake") | .principal] | .[]' "$T/body"; }
check "handshake refusals audited under a fingerprint" grep -qx "unverified:sha256:$self_fp" <(hs)
check "no handshake refusal audited under the claimed principal" bash -c "! grep -q urn:fabricbios <<<\"$(hs)\""

# ---- disabled and deleted tenants, by certificate ----
L=$(mint tenant-acme acme)
check "acme minted a lease" grep -qE '^[0-9a-f]{16}$' <<<"$L"
"$REGISTRY" tenant disable acme --db "$DB" >/dev/null
expect_status "disabled tenant certificate: list" 401 tenant-acme GET /tenants
expect_status "disabled tenant certificate: release" 401 tenant-acme POST "/leases/$L/release"
expect_status "disabled tenant certificate: mint" 401 tenant-acme POST /tenants/acme/leases '{"mem":1}'
check "401 says the tenant is disabled" grep -q "disabled" "$T/body"
check "the lease is still active" test "$(sqlite3 "$DB" "SELECT state FROM leases WHERE lease_id = '$L'")" = active
"$REGISTRY" tenant enable acme --db "$DB" >/dev/null
expect_status "enabled again: list" 200 tenant-acme GET /tenants
expect_status "another tenant unaffected" 200 tenant-beta GET /tenants
expect_status "delete beta" 200 admin DELETE /tenants/beta
expect_status "deleted tenant certificate: list" 401 tenant-beta GET /tenants
expect_status "deleted tenant certificate: mint" 401 tenant-beta POST /tenants/beta/leases '{"mem":1}'
check "server alive" kill -0 "$SERVER_PID"
finish
