#!/usr/bin/env bash
# Every key flag accepts every key form: grafos-admin --key with the client key in a PKCS#11 token
# (a private SoftHSMv2 token) does a real mTLS handshake against grafos-registry, whose own --key is
# in the same token. A key that does not match --cert, a missing key file, a missing object and a
# wrong PIN are each one clear error with the documented exit status, before any request is sent:
# nothing changes on the server.
. "$(dirname "$0")/lib.sh"
ADMIN=${GRAFOS_ADMIN:?GRAFOS_ADMIN must point at grafos-admin}
make_pki
P=$T/pki
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=246813

SOFTHSM_TEST_PIN=$PIN sh "$GRAFOS_SOURCE_ROOT/tests/support/softhsm-token.sh" "$T/tok" fabric \
  >"$T/tok.env" 2>"$T/tok.err"
check "private SoftHSMv2 token created" test -s "$T/tok.env"
export SOFTHSM2_CONF=$T/tok/softhsm2.conf
# The keys go in with the PIN from the token's 0600 PIN file, and their PEM files are deleted.
cp "$P/server-key.pem" "$T/server-key.pem"
"$GRAFOS_P11_IMPORT_KEY" $MODULE fabric server-key 01 "$T/server-key.pem" "$T/tok/fabric.pin" \
  >"$T/import1.out" 2>&1
"$GRAFOS_P11_IMPORT_KEY" $MODULE fabric admin-key 02 "$P/admin-key.pem" "$T/tok/fabric.pin" \
  >"$T/import2.out" 2>&1
check "server and admin keys imported into the token" \
  bash -c "grep -q imported '$T/import1.out' && grep -q imported '$T/import2.out'"
rm -f "$T/server-key.pem" "$P/admin-key.pem"
check "no PEM copy of the admin key left" test ! -e "$P/admin-key.pem"

uri() { echo "pkcs11:token=fabric;object=$1?module-path=$MODULE&pin-source=file:${2:-$T/tok/fabric.pin}"; }
SERVER_CERT=$P/server.pem SERVER_KEY=$(uri server-key) start_server "$T/db"
check "grafos-registry serves with its --key in the token" kill -0 "$SERVER_PID"

# admin ARGS... -> exit status in $T/rc, stdout in $T/a.out, stderr in $T/a.err
admin() {
  "$ADMIN" "$@" --scheduler "$URL" --ca "$P/ca.pem" >"$T/a.out" 2>"$T/a.err" </dev/null
  echo $? >"$T/rc"
}
admin create-tenant --name acme --cert "$P/admin.pem" --key "$(uri admin-key)"
check "grafos-admin --key pkcs11: (token key) creates a tenant over mTLS (exit $(cat "$T/rc"): $(head -c 120 "$T/a.err"))" \
  test "$(cat "$T/rc")" = 0
admin list-tenants --json --cert "$P/admin.pem" --key "$(uri admin-key)"
check "grafos-admin --key pkcs11: lists the tenant" grep -q acme "$T/a.out"

# refused DESC WANT_EXIT WANT_TEXT ARGS... : one error line, the exit status, no PIN, no change.
refused() {
  local d=$1 want=$2 text=$3; shift 3
  local before after
  before=$(sqlite3 "$T/db" "select count(*) from tenants")
  admin create-tenant --name "refused$RANDOM" "$@"
  after=$(sqlite3 "$T/db" "select count(*) from tenants")
  local rc
  rc=$(cat "$T/rc")
  if [ "$rc" = "$want" ] && grep -q -- "$text" "$T/a.err" && [ "$(wc -l <"$T/a.err")" = 1 ] &&
    ! grep -q "$PIN" "$T/a.err" && [ "$before" = "$after" ]; then
    ok "$d (exit $rc: $(head -c 160 "$T/a.err"))"
  else
    not_ok "$d: exit $rc (want $want), tenants $before -> $after"
    sed 's/^/# /' "$T/a.err" | head -5
  fi
}
refused "a token key that does not match --cert" 5 "does not match the certificate" \
  --cert "$P/tenant-acme.pem" --key "$(uri admin-key)"
refused "a PEM key that does not match --cert" 5 "does not match the certificate" \
  --cert "$P/admin.pem" --key "$P/tenant-acme-key.pem"
refused "a missing key file (exit 6)" 6 "No such file" \
  --cert "$P/admin.pem" --key "$T/no-such-key.pem"
refused "no such object on the token" 5 "no private key with this object" \
  --cert "$P/admin.pem" --key "$(uri nope)"
(umask 077 && printf '000000\n' >"$T/bad.pin")
refused "a wrong PIN (not retried)" 5 CKR_PIN_INCORRECT \
  --cert "$P/admin.pem" --key "$(uri admin-key "$T/bad.pin")"
check "the mismatch message names the flag and the redacted key, never the PIN" \
  bash -c "'$ADMIN' list-tenants --scheduler '$URL' --ca '$P/ca.pem' --cert '$P/tenant-acme.pem' \
    --key 'pkcs11:token=fabric;object=admin-key?module-path=$MODULE&pin-value=$PIN' 2>&1 |
    grep -- '--key' | grep -q 'pin-value=<redacted>' &&
    ! '$ADMIN' list-tenants --scheduler '$URL' --ca '$P/ca.pem' --cert '$P/tenant-acme.pem' \
    --key 'pkcs11:token=fabric;object=admin-key?module-path=$MODULE&pin-value=$PIN' 2>&1 | grep -q '$PIN'"
# The right PIN still works after the refusals.
admin list-tenants --cert "$P/admin.pem" --key "$(uri admin-key)"
check "right PIN still accepted after the refusals" test "$(cat "$T/rc")" = 0
stop_server
finish
