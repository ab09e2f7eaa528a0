#!/usr/bin/env bash
# grafos-ca init-ca makes its file key through the file backend's create_key (issue 12). What the
# ceremony promised before still holds: a failed run leaves nothing behind, and a failed
# `init-ca --force` leaves the CA key and certificate it was replacing exactly as they were.
# The failure is a disk error injected at ca.pem (tests/support/fail_rename.cpp, LD_PRELOAD).
set -u
CA=${GRAFOS_CA:?run under meson test}
SHIM=${GRAFOS_FAULT_RENAME_SHIM:?run under meson test}
T=$(mktemp -d "${TMPDIR:-/tmp}/grafos-initca.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
failed=0
check() {
  local d=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $d"; else failed=$((failed + 1)); echo "not ok $n - $d"; fi
}
fault() { LD_PRELOAD=$SHIM GRAFOS_FAULT_RENAME=ca.pem "$CA" "$@"; }

fault init-ca --out "$T/new/ca" >"$T/o" 2>"$T/e"
check "a failed init-ca exits 6 (disk error)" test $? = 6
check "and says the key it made was removed again" grep -q "removed again" "$T/e"
check "nothing is left, not even --out's new parent" test ! -e "$T/new"

fault init-ca --out "$T/new2" --key "$T/keys/sub/ca-key.pem" >"$T/o" 2>"$T/e"
check "a failed init-ca with --key in a new folder exits 6" test $? = 6
check "the key's new folders are removed too" test ! -e "$T/keys"

"$CA" init-ca --out "$T/ca" >"$T/o" 2>"$T/e"
check "init-ca" test $? = 0
cp -p "$T/ca/ca-key.pem" "$T/key.before"
cp -p "$T/ca/ca.pem" "$T/cert.before"
fault init-ca --out "$T/ca" --force >"$T/o" 2>"$T/e"
check "a failed init-ca --force exits 6" test $? = 6
check "the CA key it was replacing is put back unchanged" cmp -s "$T/ca/ca-key.pem" "$T/key.before"
check "the CA key stays 0600" test "$(stat -c %a "$T/ca/ca-key.pem")" = 600
check "ca.pem is unchanged" cmp -s "$T/ca/ca.pem" "$T/cert.before"
"$CA" issue-cert --ca-cert "$T/ca/ca.pem" --ca-key "$T/ca/ca-key.pem" --tenant acme \
  --out "$T/leaf" >"$T/o" 2>"$T/e"
check "the CA still issues with its old key" test $? = 0

GRAFOS_KEY_PASSPHRASE="correct horse" "$CA" init-ca --out "$T/enc" >"$T/o" 2>"$T/e"
check "an encrypted CA key is still written encrypted" grep -q "ENCRYPTED PRIVATE KEY" "$T/enc/ca-key.pem"
echo "1..$n"
[ "$failed" -eq 0 ]
