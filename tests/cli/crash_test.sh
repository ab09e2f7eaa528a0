#!/usr/bin/env bash
# Crash test of the CA's memory (issue-cert, revoke, gen-crl killed with SIGKILL at random
# points), with a file CA key: a SoftHSMv2 token is never the target of a kill test (its file
# store is rewritten at every login and a kill can empty it). Afterwards: no serial on two
# certificates, no partial file, `ledger check --repair` confirms what was written, every
# certificate file on disk is issued in the ledger, and `transcript verify` passes.
# CRASH_N (default 30 in the suite; `CRASH_N=300 bash tests/cli/crash_test.sh` for the long run).
set -uo pipefail
CA=${GRAFOS_CA:?GRAFOS_CA must point at grafos-ca}
N=${CRASH_N:-30}
W=$(mktemp -d "${TMPDIR:-/tmp}/grafos-crash.XXXXXX")
trap 'rm -rf "$W"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
"$CA" init-ca --out "$W/ca" >/dev/null 2>&1 || { echo "Bail out! init-ca"; exit 1; }
K=$W/ca/ca-key.pem
C=$W/ca/ca.pem
killed=0
for i in $(seq 1 "$N"); do
  case $((RANDOM % 5)) in
    0 | 1 | 2) "$CA" issue-cert --ca-cert "$C" --ca-key "$K" --tenant "t$i" --out "$W/out/t$i" >/dev/null 2>&1 & ;;
    3) printf 'cell crash %s\ncell crash %s0\ncell crash %s00\n' "$i" "$i" "$i" >"$W/b$i.txt"
       "$CA" issue-cert --ca-cert "$C" --ca-key "$K" --batch "$W/b$i.txt" --out "$W/out/b$i" >/dev/null 2>&1 & ;;
    4) victim=$(ls "$W/out"/t*/client.pem 2>/dev/null | shuf -n 1)
       if [ -n "$victim" ]; then
         "$CA" revoke --ca-cert "$C" --ca-key "$K" --cert "$victim" --reason superseded >/dev/null 2>&1 &
       else
         "$CA" gen-crl --ca-cert "$C" --ca-key "$K" --out "$W/crl.pem" --force >/dev/null 2>&1 &
       fi ;;
  esac
  pid=$!
  # A random point in the run: 0-40 ms covers opening the key, the ledger, signing and writing.
  sleep "0.0$((RANDOM % 40 / 10))$((RANDOM % 10))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null
done
echo "# $N runs, $killed killed before they finished"

# No partial file: every certificate or key file parses.
partial=0
while IFS= read -r f; do
  case "$f" in
    *-key.pem) openssl pkey -in "$f" -noout 2>/dev/null || { partial=$((partial + 1)); echo "# partial: $f"; } ;;
    *.pem) openssl x509 -in "$f" -noout 2>/dev/null || { partial=$((partial + 1)); echo "# partial: $f"; } ;;
  esac
done < <(find "$W/out" -name '*.pem' 2>/dev/null)
[ "$partial" = 0 ] && ok "no partial certificate or key file" || not_ok "$partial partial files"
leftovers=$(find "$W/out" "$W/ca" -name '.*' -type f 2>/dev/null | wc -l)
echo "# temporary files left by killed runs: $leftovers"

# No serial on two certificates.
dups=$(find "$W/out" -name client.pem -exec openssl x509 -noout -serial -in {} \; 2>/dev/null | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "no serial on two certificates" || not_ok "$dups serials on two certificates"

# Recovery: ledger check, then --repair confirms what was written.
"$CA" ledger check --ca-cert "$C" >"$W/check1.out" 2>&1
echo "# before repair: $(tail -n 1 "$W/check1.out")"
grep -q '^problem:' "$W/check1.out" && not_ok "ledger check found problems: $(grep '^problem:' "$W/check1.out" | head -3)" ||
  ok "ledger check: no problems (orphans reported)"
"$CA" ledger check --ca-cert "$C" --repair --ca-key "$K" >"$W/check2.out" 2>&1
echo "# repair: $(tail -n 1 "$W/check2.out")"
grep -q 'recoverable:' "$W/check2.out" && not_ok "recoverable rows left after --repair" ||
  ok "ledger check --repair confirmed every certificate on disk"

# Every certificate file on disk is issued (or revoked) in the ledger.
"$CA" list-certs --ca-cert "$C" --json >"$W/list.json" 2>/dev/null
missing=0
while IFS= read -r f; do
  s=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^\(00\)*//')
  st=$(jq -r --arg s "$s" '.[] | select(.serial == $s) | .state' "$W/list.json")
  case "$st" in
    issued | revoked) ;;
    *) missing=$((missing + 1)); echo "# $f (serial $s) is '$st' in the ledger" ;;
  esac
done < <(find "$W/out" -name client.pem)
[ "$missing" = 0 ] && ok "every certificate on disk is issued in the ledger" || not_ok "$missing certificates not issued in the ledger"

# The transcript: one more operation heals a line a kill may have cut, then it verifies.
"$CA" issue-cert --ca-cert "$C" --ca-key "$K" --tenant final --out "$W/out/final" >/dev/null 2>&1 ||
  not_ok "an issuance after the kills failed"
if "$CA" transcript verify --ca "$C" >"$W/tv.out" 2>&1; then
  ok "transcript verify passes after the kills: $(head -n 1 "$W/tv.out")"
else
  not_ok "transcript verify after the kills"; sed 's/^/# /' "$W/tv.out" | head -10
fi
"$CA" gen-crl --ca-cert "$C" --ca-key "$K" --out "$W/final-crl.pem" --force >/dev/null 2>&1 &&
  openssl crl -in "$W/final-crl.pem" -CAfile "$C" -noout 2>/dev/null &&
  ok "a CRL after the kills verifies" || not_ok "gen-crl after the kills"
echo "1..$n"
[ "$failed" = 0 ]
