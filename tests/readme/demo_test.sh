#!/usr/bin/env bash
# The README's demo ceremony, run with the grafos-ca already built (GRAFOS_DEMO_NO_BUILD=1: no
# package install, no meson) into a temporary folder: it completes, says it keeps a backup of the
# SoftHSM token folder, and the backup made after init-ca holds the CA key: with the token folder
# lost (what a process killed during SoftHSM's rewrite of token.object leaves), restoring the
# backup signs again. TAP output.
#   env: GRAFOS_SOURCE_ROOT, GRAFOS_BUILD_ROOT (set by meson test)
set -uo pipefail
src=${GRAFOS_SOURCE_ROOT:?run under meson test}
build=${GRAFOS_BUILD_ROOT:?run under meson test}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

demo=$tmp/demo
GRAFOS_DEMO_NO_BUILD=1 GRAFOS_BUILD_DIR=$build bash "$src/scripts/demo-ceremony.sh" "$demo" \
  >"$tmp/out" 2>&1
rc=$?
check "the demo completes" '[ $rc -eq 0 ] && grep -q "demo ceremony complete" "$tmp/out"'
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/out"
check "it initialises the token with grafos-ca token init" \
  'grep -q "ca token init" "$src/scripts/demo-ceremony.sh" && grep -q "note: token .fabric-ca. initialised (serial " "$tmp/out"'
check "it says it backed up the token before init-ca logs in" \
  'grep -q "token folder backed up to $demo/hsm/tokens.backup (the initialised token, before init-ca logs in)" "$tmp/out"'
check "it says it refreshed the backup once the CA key exists" \
  'grep -q "backed up to $demo/hsm/tokens.backup (now with the CA key" "$tmp/out"'
check "its last lines name the backup" 'tail -n 1 "$tmp/out" | grep -q "token backup: $demo/hsm/tokens.backup"'
# SoftHSM's file store: token.object plus one file per object (the CA key pair: 2).
objects=$(find "$demo/hsm/tokens.backup" -name '*.object' ! -name token.object 2>/dev/null | wc -l)
check "the backup holds token.object and the CA key pair ($objects objects)" \
  '[ -s "$(find "$demo/hsm/tokens.backup" -name token.object | head -n 1)" ] && [ "$objects" -ge 2 ]'
check "the backup is not wider than the token folder" \
  '[ "$(stat -c %a "$demo/hsm/tokens.backup")" = "$(stat -c %a "$demo/hsm/tokens")" ]'

# The token folder lost; the backup restored: the CA key signs again.
key="pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$demo/hsm/user.pin"
rm -rf "$demo/hsm/tokens"
cp -a "$demo/hsm/tokens.backup" "$demo/hsm/tokens"
check "the restored backup signs a certificate with the CA key" \
  'SOFTHSM2_CONF=$demo/hsm/softhsm2.conf "$build/tools/grafos-ca/grafos-ca" issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --tenant restored --out "$tmp/restored" >/dev/null 2>"$tmp/err" && openssl verify -CAfile "$demo/ca/ca.pem" "$tmp/restored/client.pem" >/dev/null'
[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err"
echo "1..$n"
exit $fail
