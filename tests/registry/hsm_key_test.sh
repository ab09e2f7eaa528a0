#!/usr/bin/env bash
# The server key on a PKCS#11 token: a private SoftHSMv2 token (own SOFTHSM2_CONF and tokendir),
# certificates from grafos-ca, the key moved into the token and its PEM file deleted. The server
# serves with --key pkcs11:...; a wrong PIN, a missing PIN or a key that does not match --cert is
# one clear error, a non-zero exit, no database and no listening socket.
. "$(dirname "$0")/lib.sh"
CA=${GRAFOS_CA:?GRAFOS_CA must point at grafos-ca}
make_pki
P=$T/pki
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=246813

# A server certificate from grafos-ca whose key goes into the token.
"$CA" issue-server-cert --ca-cert "$P/ca.pem" --ca-key "$P/ca-key.pem" --san 127.0.0.1,localhost \
  --out "$T/srv" >"$T/issue.out" 2>&1
check "grafos-ca issued the server certificate" test -s "$T/srv/server.pem"

SOFTHSM_TEST_PIN=$PIN sh "$GRAFOS_SOURCE_ROOT/tests/support/softhsm-token.sh" "$T/tok" registry \
  >"$T/tok.env" 2>"$T/tok.err"
check "private SoftHSMv2 token created" test -s "$T/tok.env"
export SOFTHSM2_CONF=$T/tok/softhsm2.conf
# The key goes in with the PIN from the token's 0600 PIN file (tests/support/p11_import_key.cpp).
"$GRAFOS_P11_IMPORT_KEY" /usr/lib/softhsm/libsofthsm2.so registry server-key 01 \
  "$T/srv/server-key.pem" "$T/tok/registry.pin" >"$T/import.out" 2>&1
check "server key imported into the token" grep -q 'imported' "$T/import.out"
rm -f "$T/srv/server-key.pem"
check "no PEM copy of the server key left" test ! -e "$T/srv/server-key.pem"

URI_BASE="pkcs11:token=registry;object=server-key?module-path=$MODULE"
URI="$URI_BASE&pin-source=file:$T/tok/registry.pin"

# ---- serving with the token key ----
SERVER_CERT=$T/srv/server.pem SERVER_KEY=$URI start_server "$T/db1"
check "server starts with --key pkcs11: URI (pin-source=file:)" kill -0 "$SERVER_PID"
for i in 1 2 3; do
  expect_status "new TLS connection $i signed by the token key" 200 admin GET /tenants
done
# Concurrent handshakes all use the one long-lived PKCS#11 session.
pids=()
for i in $(seq 1 8); do
  curl -sS --max-time 10 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
    -o /dev/null -w '%{http_code}\n' "$URL/api/v1/tenants" >"$T/par.$i" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
wait_ok=0
for i in $(seq 1 8); do [ "$(cat "$T/par.$i")" = 200 ] && wait_ok=$((wait_ok + 1)); done
check "8 concurrent handshakes with the token key (got $wait_ok/8)" test "$wait_ok" = 8
printf 'GET /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$P/ca.pem" \
    -cert "$P/admin.pem" -key "$P/admin-key.pem" -verify_return_error -ign_eof >"$T/s.out" 2>&1
check "openssl s_client verifies the server (token key) and gets HTTP 200" \
  grep -q 'HTTP/1.1 200' "$T/s.out"
openssl x509 -in "$T/srv/server.pem" -noout -pubkey >"$T/srv.pub"
openssl x509 -in <(sed -n '/BEGIN CERT/,/END CERT/p' "$T/s.out") -noout -pubkey >"$T/peer.pub" 2>/dev/null
check "the served certificate is the grafos-ca one" cmp -s "$T/srv.pub" "$T/peer.pub"
check "the PIN is not in the server log" bash -c "! grep -q '$PIN' '$SERVER_LOG'"
check "the PIN is not in the server's argv" bash -c "! tr '\\0' ' ' </proc/$SERVER_PID/cmdline | grep -q '$PIN'"
stop_server

# PIN from GRAFOS_PKCS11_PIN (no pin-source in the URI).
GRAFOS_PKCS11_PIN=$PIN SERVER_CERT=$T/srv/server.pem SERVER_KEY=$URI_BASE start_server "$T/db2"
expect_status "PIN from GRAFOS_PKCS11_PIN: handshake and request" 200 admin GET /tenants
stop_server

# ---- refusals: clear error, non-zero exit, no database, no listening socket ----
# refused DESC WANT_EXIT WANT_TEXT KEY [env...]
refused() {
  local d=$1 want=$2 text=$3 key=$4; shift 4
  local db=$T/refused-$RANDOM.db
  rm -f "$T/ready"
  env "$@" timeout 20 "$REGISTRY" serve --listen 127.0.0.1:0 --db "$db" --cert "${RCERT:-$T/srv/server.pem}" \
    --key "$key" --client-ca "$P/ca.pem" --ready-file "$T/ready" </dev/null >"$T/r.out" 2>"$T/r.err"
  local rc=$?
  if [ "$rc" = "$want" ] && grep -q -- "$text" "$T/r.err" && [ "$(wc -l <"$T/r.err")" = 1 ] &&
    [ ! -e "$T/ready" ] && [ ! -e "$db" ] && ! grep -q 'listening' "$T/r.out" &&
    ! grep -q "$PIN" "$T/r.err"; then
    ok "$d (exit $rc: $(head -c 160 "$T/r.err"))"
  else
    not_ok "$d: exit $rc (want $want)"
    sed 's/^/# /' "$T/r.err" "$T/r.out" | head -5
    [ -e "$T/ready" ] && echo "# a port was bound: $(cat "$T/ready")"
    [ -e "$db" ] && echo "# the database was created"
  fi
}
(umask 077 && printf '000000\n' >"$T/bad.pin")
refused "wrong PIN" 5 CKR_PIN_INCORRECT "$URI_BASE&pin-source=file:$T/bad.pin"
refused "wrong PIN from GRAFOS_PKCS11_PIN" 5 CKR_PIN_INCORRECT "$URI_BASE" GRAFOS_PKCS11_PIN=000000
refused "no PIN at all (no pin-source, no env, no TTY)" 5 "needs a user PIN" "$URI_BASE"
refused "no such object on the token (exit 5: a key problem, as in grafos-ca and grafos-admin)" 5 "no private key with this object" \
  "pkcs11:token=registry;object=nope?module-path=$MODULE&pin-source=file:$T/tok/registry.pin"
refused "no such token" 5 "no initialised token matches" \
  "pkcs11:token=nosuch;object=server-key?module-path=$MODULE&pin-source=file:$T/tok/registry.pin"
RCERT=$P/admin.pem refused "token key does not match --cert" 5 "does not match the certificate" "$URI"
RCERT=$P/server.pem refused "PEM key does not match --cert" 5 "does not match the certificate" \
  "$P/admin-key.pem"
# The right PIN still works after the refusals (the wrong ones were not retried into a lockout).
SERVER_CERT=$T/srv/server.pem SERVER_KEY=$URI start_server "$T/db3"
expect_status "right PIN still accepted after the refusals" 200 admin GET /tenants
stop_server

# ---- the orchestrator's --cell-key on the token (the grafos-admin client's key loading) ----
"$GRAFOS_P11_IMPORT_KEY" "$MODULE" registry observer-key 02 "$P/observer-key.pem" \
  "$T/tok/registry.pin" >"$T/import2.out" 2>&1
check "observer key imported into the token" grep -q 'imported' "$T/import2.out"
start_server "$T/cell.db" || echo "# cell did not start"
CELL=$URL
req admin POST /tenants '{"name":"oncell"}' >/dev/null
detach_server
start_server "$T/orch.db" --mode orchestrator --cell "$CELL" --cell-cert "$P/observer.pem" \
  --cell-key "pkcs11:token=registry;object=observer-key?module-path=$MODULE&pin-source=file:$T/tok/registry.pin" ||
  { echo "# orchestrator did not start"; sed 's/^/# /' "$SERVER_LOG"; }
expect_status "fan-out with --cell-key on the token" 200 admin GET '/admin/audit?all=true&limit=1000'
check "the cell accepted the token-held client key" \
  test "$(jq -r ".sources[] | select(.url == \"$CELL\") | .ok" "$T/body")" = true
check "the cell's entries are merged" \
  test "$(jq "[.entries[] | select(.source == \"$CELL\")] | length" "$T/body")" -gt 0
check "the PIN is not in the orchestrator's log" bash -c "! grep -q '$PIN' '$SERVER_LOG'"
stop_server
finish
