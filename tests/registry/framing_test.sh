#!/usr/bin/env bash
# Request bodies that could be read or inflated without limit are refused before authentication,
# from the headers alone: any Transfer-Encoding (411 length_required), a Content-Encoding other
# than identity (415 unsupported_media_type), a POST without Content-Length (411), a malformed or
# repeated Content-Length (400). Each refusal is JSON {"error","message"}, is audited, and writes
# nothing. A DELETE without Content-Length (grafos-admin delete-tenant) has no body and is served.
. "$(dirname "$0")/lib.sh"
make_pki
DB=$T/db
start_server "$DB" --max-body 4096 || { echo "Bail out! server did not start"; cat "$T/server.log"; exit 1; }
P=$T/pki
code() { jq -r .error "$T/body"; }
ntenants() { sqlite3 "$DB" 'SELECT COUNT(*) FROM tenants'; }
# send DESC WANT-STATUS WANT-CODE WHO curl-args...: one request with hand-made framing headers.
send() {
  local d=$1 want=$2 want_code=$3 who=$4; shift 4
  local args=(-sS --max-time 10 --cacert "$P/ca.pem" -o "$T/body" -w '%{http_code}')
  [ "$who" != none ] && args+=(--cert "$P/$who.pem" --key "$P/$who-key.pem")
  local got
  got=$(curl "${args[@]}" "$@" 2>"$T/curl.err")
  if [ "$got" = "$want" ] && [ "$(code)" = "$want_code" ] && [ -n "$(jq -r .message "$T/body")" ]; then
    ok "$d ($want $want_code)"
  else
    not_ok "$d: want $want $want_code, got $got $(head -c 300 "$T/body")"; echo "# curl: $(head -c 300 "$T/curl.err")"
  fi
}
# raw WHO: sends stdin as the request bytes over TLS, prints the status line of the answer.
raw() {
  local who=$1
  timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$P/ca.pem" \
    -cert "$P/$who.pem" -key "$P/$who-key.pem" -ign_eof 2>/dev/null | tr -d '\r' >"$T/raw.out"
  head -n 1 "$T/raw.out"
}
url=$URL/api/v1/tenants
expect_status "create acme" 201 admin POST /tenants '{"name":"acme"}'
ACME_ID=$(jq -r .id "$T/body")

# ---- Transfer-Encoding ----
head -c 3000000 /dev/zero | tr '\0' ' ' >"$T/big"
printf '{"name":"chunked"}' >>"$T/big"
send "chunked body (3 MB, over --max-body)" 411 length_required admin \
  -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' --data-binary @"$T/big" "$url"
check "chunked refusal says why" grep -q "Transfer-Encoding 'chunked' is not accepted" "$T/body"
send "small chunked body" 411 length_required admin \
  -H 'Transfer-Encoding: chunked' --data-binary '{"name":"chunked"}' "$url"
send "chunked before authentication (no client certificate)" 411 length_required none \
  -H 'Transfer-Encoding: chunked' --data-binary '{"name":"chunked"}' "$url"
send "chunked on a lease mint" 411 length_required tenant-acme \
  -H 'Transfer-Encoding: chunked' --data-binary '{"mem":1}' "$URL/api/v1/tenants/acme/leases"
send "Transfer-Encoding gzip, chunked" 411 length_required admin \
  -H 'Transfer-Encoding: gzip, chunked' --data-binary '{"name":"chunked"}' "$url"
got=$(printf 'POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{"name":"smuggle"}' | raw admin)
check "Transfer-Encoding with Content-Length refused ($got)" test "$got" = "HTTP/1.1 411 Length Required"

# ---- Content-Encoding ----
printf '{"name":"zipped"}' | gzip -c >"$T/body.gz"
send "gzip body" 415 unsupported_media_type admin \
  -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' --data-binary @"$T/body.gz" "$url"
check "gzip refusal says why" grep -q "Content-Encoding 'gzip' is not accepted" "$T/body"
# 1 MB of zeros: a 1 kB gzip bomb well under --max-body
head -c 1000000 /dev/zero | gzip -9 -c >"$T/bomb.gz"
send "gzip bomb ($(stat -c %s "$T/bomb.gz") bytes)" 415 unsupported_media_type admin \
  -H 'Content-Encoding: gzip' --data-binary @"$T/bomb.gz" "$url"
send "br body" 415 unsupported_media_type admin -H 'Content-Encoding: br' --data-binary 'xyz' "$url"
send "deflate body" 415 unsupported_media_type admin -H 'Content-Encoding: deflate' --data-binary 'x' "$url"
send "Content-Encoding before authentication" 415 unsupported_media_type none \
  -H 'Content-Encoding: gzip' --data-binary @"$T/body.gz" "$url"
send "identity, gzip" 415 unsupported_media_type admin \
  -H 'Content-Encoding: identity, gzip' --data-binary '{"name":"x"}' "$url"
expect_status "Content-Encoding: identity is accepted" 201 admin POST /tenants '{"name":"plain"}'
got=$(curl -sS --max-time 10 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
  -o "$T/body" -w '%{http_code}' -H 'Content-Encoding: Identity' -H 'Content-Type: application/json' \
  --data-binary '{"name":"plain2"}' "$url")
check "Content-Encoding: Identity (any case) is accepted ($got)" test "$got" = 201

# ---- Content-Length ----
send "POST without Content-Length" 411 length_required admin -X POST "$URL/api/v1/tenants/plain/quota"
check "411 names the method" grep -q "POST needs a Content-Length" "$T/body"
send "POST without Content-Length, no certificate" 411 length_required none -X POST "$url"
send "PUT without Content-Length" 411 length_required admin -X PUT "$url"
got=$(printf 'POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Length: 17\r\nContent-Length: 99\r\nConnection: close\r\n\r\n{"name":"twice"}' | raw admin)
check "two Content-Length headers refused ($got)" test "$got" = "HTTP/1.1 400 Bad Request"
check "two Content-Length headers named" grep -q "more than one Content-Length" "$T/raw.out"
got=$(printf 'POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0x10\r\nConnection: close\r\n\r\n{"name":"hexlen"}' | raw admin)
check "non-decimal Content-Length refused ($got)" test "$got" = "HTTP/1.1 400 Bad Request"
got=$(printf 'POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\nConnection: close\r\n\r\n' | raw admin)
check "negative Content-Length refused ($got)" test "$got" = "HTTP/1.1 400 Bad Request"
expect_status "POST with Content-Length: 0 still served" 404 admin POST /tenants/nobody/quota
# A DELETE without Content-Length has no body: answered at once, nothing read after the headers.
start=$(date +%s%N)
got=$(printf 'DELETE /api/v1/tenants/plain2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | raw admin)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "DELETE without Content-Length served ($got)" test "$got" = "HTTP/1.1 200 OK"
check "DELETE without Content-Length answered without waiting for a body (${ms} ms)" test "$ms" -lt 5000
send "oversized Content-Length still 413" 413 payload_too_large admin \
  -H 'Content-Type: application/json' --data-binary @"$T/big" "$url"

# ---- nothing written, everything audited ----
check "refused requests wrote nothing" test "$(sqlite3 "$DB" "SELECT group_concat(name) FROM tenants ORDER BY id")" = acme,plain
check "refused mint wrote no lease" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM leases")" = 0
sleep 0.2
req admin GET '/admin/audit?kind=auth&outcome=error&limit=1000' >/dev/null
n411=$(jq '[.entries[] | select(.detail | startswith("HTTP 411 length_required"))] | length' "$T/body")
n415=$(jq '[.entries[] | select(.detail | startswith("HTTP 415 unsupported_media_type"))] | length' "$T/body")
n400=$(jq '[.entries[] | select(.detail | startswith("HTTP 400 bad_request"))] | length' "$T/body")
check "every 411 audited (9, got $n411)" test "$n411" = 9
check "every 415 audited (6, got $n415)" test "$n415" = 6
check "every framing 400 audited (3, got $n400)" test "$n400" = 3
principal_of() { jq -r --arg d "$1" '[.entries[] | select(.detail | contains($d)) | .principal] | first' "$T/body"; }
check "refusal audited with the certificate's principal" \
  test "$(principal_of "Content-Encoding 'br'")" = urn:fabricbios:fabric-admin
# Only the framing refusals (411, 415): a refusal closes the connection, so no byte of a refused
# body is ever read as a further request (hostile_test.sh checks that directly).
n_unauth=$(jq '[.entries[] | select(.principal == "unauthenticated" and
  ((.detail | startswith("HTTP 411 ")) or (.detail | startswith("HTTP 415 "))))] | length' "$T/body")
check "refusal without certificate audited as unauthenticated (3, got $n_unauth)" \
  test "$n_unauth" = 3
[ "$n_unauth" = 3 ] || jq -r '.entries[] | select(.principal == "unauthenticated") | "# " + .action + " | " + .detail' "$T/body"
check "a tenant certificate's refusal carries its tenant_id" \
  test "$(jq -r '[.entries[] | select(.action == "POST /api/v1/tenants/acme/leases") | .tenant_id] | first' "$T/body")" = "$ACME_ID"
check "server alive" kill -0 "$SERVER_PID"
finish
