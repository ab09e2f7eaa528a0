#!/usr/bin/env bash
# The CA's memory, checked by real peers: every certificate grafos-ca issues is in its ledger,
# revoke + gen-crl produce a CRL that openssl verify -crl_check, Botan and GnuTLS certtool accept
# and that refuses exactly the revoked certificate; the transcript verifies offline with ca.pem
# alone, tampering is named, and every refusal changes nothing. Backend: file or softhsm.
# Usage: lifecycle_test.sh BACKEND BOTAN_VERIFY
. "$(dirname "$0")/lib.sh"
BACKEND=$1
BOTAN=$2
CA=$WORK/ca
case "$BACKEND" in
  file) ca_init "$CA" || bail "init-ca failed" ;;
  softhsm)
    softhsm_token lifecycle || bail "no SoftHSM token"
    ca_init "$CA" "$(softhsm_uri lifecycle ca-key)" || bail "init-ca on the token failed" ;;
esac
G() { "$GRAFOS_CA" "$@"; }
expect_ok "init-ca made the ledger and the transcript" test -s "$CA/ca-ledger.db" -a -s "$CA/ca-transcript.log"
expect_ok "ledger and transcript are not world-writable" \
  sh -c "[ \$(stat -c %a '$CA/ca-ledger.db') = 600 ]"

issue_client "$CA" "$CA_KEY" "$WORK/acme" tenant --tenant acme >/dev/null || bail "issue acme"
issue_client "$CA" "$CA_KEY" "$WORK/globex" tenant --tenant globex >/dev/null || bail "issue globex"
issue_server "$CA" "$CA_KEY" "$WORK/srv" 127.0.0.1,localhost >/dev/null || bail "issue server"
printf 'cell aws 1\ncell aws 2\nfabric-observer\n' >"$WORK/batch.txt"
expect_ok "a batch is recorded too" G issue-cert --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" \
  --batch "$WORK/batch.txt" --out "$WORK/batch"

out=$(G list-certs --ca-cert "$CA/ca.pem" --json)
expect_eq "list-certs shows the CA and the 6 leaves" 7 "$(printf '%s' "$out" | jq length)"
expect_eq "all issued" 7 "$(printf '%s' "$out" | jq '[.[] | select(.state=="issued")] | length')"
# The serial as grafos-ca prints it: whole bytes, no leading zero byte (openssl's form, lowercase).
acme_serial=$(openssl x509 -in "$WORK/acme/client.pem" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^\(00\)*//')
expect_eq "the ledger row of acme has its certificate's SHA-256" \
  "$(openssl x509 -in "$WORK/acme/client.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
  "$(printf '%s' "$out" | jq -r --arg s "$acme_serial" '.[] | select(.serial==$s) | .cert_sha256')"

# The CA's own key, or a key already certified for another identity, is refused (nothing written).
if [ "$BACKEND" = file ]; then
  openssl req -new -key "$CA_KEY" -subj /CN=x -out "$WORK/ca-key.csr" 2>/dev/null
  expect_fail "a CSR for the CA's own key is refused" G issue-cert --ca-cert "$CA/ca.pem" \
    --ca-key "$CA_KEY" --tenant own --csr "$WORK/ca-key.csr" --out "$WORK/own"
  expect_ok "  ... and nothing was written" test ! -e "$WORK/own"
fi
openssl req -new -key "$WORK/acme/client-key.pem" -subj /CN=x -out "$WORK/acme-key.csr" 2>/dev/null
out=$(G issue-cert --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --tenant other --csr "$WORK/acme-key.csr" \
  --out "$WORK/reuse" 2>&1)
expect_match "acme's key for another tenant is refused" "already certified for another identity" "$out"
expect_ok "  ... and nothing was written" test ! -e "$WORK/reuse"

expect_fail "list-certs --expiring-within -1 is refused" G list-certs --ca-cert "$CA/ca.pem" --expiring-within -1
expect_fail "list-certs --role bogus is refused" G list-certs --ca-cert "$CA/ca.pem" --role bogus
expect_eq "list-certs --role cell lists the two cells" 2 \
  "$(G list-certs --ca-cert "$CA/ca.pem" --role cell --json | jq length)"

# ---- revoke and its refusals ----
expect_ok "revoke acme (keyCompromise, invalidity date)" G revoke --ca-cert "$CA/ca.pem" \
  --ca-key "$CA_KEY" --cert "$WORK/acme/client.pem" --reason keyCompromise \
  --invalidity-date 2026-01-01T00:00:00Z
before=$(sha256sum "$CA/ca-transcript.log" | cut -d' ' -f1)
refused() {  # DESCRIPTION WANT_EXIT WANT_TEXT CMD...
  local d=$1 want=$2 text=$3 rc
  shift 3
  "$@" >"$WORK/r.out" 2>"$WORK/r.err"
  rc=$?
  if [ "$rc" = "$want" ] && [ "$(wc -l <"$WORK/r.err")" -le 2 ] && grep -q -- "$text" "$WORK/r.err" &&
    [ "$(sha256sum "$CA/ca-transcript.log" | cut -d' ' -f1)" = "$before" ]; then
    tap_result 0 "$d (exit $rc, transcript unchanged): $(head -c 150 "$WORK/r.err")"
  else
    tap_result 1 "$d: exit $rc (want $want)" "$(cat "$WORK/r.err" "$WORK/r.out")"
  fi
}
refused "revoking twice" 3 "already revoked (keyCompromise)" G revoke --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --serial "$acme_serial"
refused "an unknown serial" 3 "not in the ledger" G revoke --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --serial 0xdeadbeef
refused "the CA's own certificate" 3 "is a CA certificate" G revoke --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --cert "$CA/ca.pem"
refused "an unknown reason" 2 "not an RFC 5280 reason" G revoke --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --serial 01 --reason certificateHold
refused "a future invalidity date" 2 "in the future" G revoke --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" \
  --cert "$WORK/globex/client.pem" --invalidity-date 2999-01-01T00:00:00Z
refused "a serial that is not hex" 2 "not 1-40 hex digits" G revoke --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --serial 'x$(id)'
: >"$WORK/empty.pem"
refused "a file that is no certificate" 3 "reading $WORK/empty.pem" G revoke --ca-cert "$CA/ca.pem" \
  --ca-key "$CA_KEY" --cert "$WORK/empty.pem"
G init-ca --out "$WORK/other" >/dev/null 2>&1
G issue-cert --ca-cert "$WORK/other/ca.pem" --ca-key "$WORK/other/ca-key.pem" --tenant acme \
  --out "$WORK/other-acme" >/dev/null 2>&1
refused "a certificate of another CA" 3 "was not issued by this CA" G revoke --ca-cert "$CA/ca.pem" \
  --ca-key "$CA_KEY" --cert "$WORK/other-acme/client.pem"
expect_eq "globex is still issued after the refusals" issued \
  "$(G list-certs --ca-cert "$CA/ca.pem" --json | jq -r '.[] | select(.identity=="tenant globex") | .state')"

# ---- the CRL, checked by three verifiers ----
expect_ok "gen-crl" G gen-crl --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --out "$WORK/crl.pem"
expect_match "the CRL lists acme with its reason" "Key Compromise" \
  "$(openssl crl -in "$WORK/crl.pem" -noout -text)"
expect_match "CRL number 1" "X509v3 CRL Number: *1" "$(openssl crl -in "$WORK/crl.pem" -noout -text | tr -s '\n ' ' ')"
expect_ok "openssl crl -verify accepts its signature" openssl crl -in "$WORK/crl.pem" -CAfile "$CA/ca.pem" -noout
expect_fail "openssl verify -crl_check refuses acme" openssl verify -crl_check -CAfile "$CA/ca.pem" \
  -CRLfile "$WORK/crl.pem" "$WORK/acme/client.pem"
expect_ok "openssl verify -crl_check accepts globex" openssl verify -crl_check -CAfile "$CA/ca.pem" \
  -CRLfile "$WORK/crl.pem" "$WORK/globex/client.pem"
expect_fail "Botan refuses acme with the CRL" "$BOTAN" --crl "$WORK/crl.pem" "$CA/ca.pem" "$WORK/acme/client.pem" tls-client
expect_ok "Botan accepts globex with the CRL" "$BOTAN" --crl "$WORK/crl.pem" "$CA/ca.pem" "$WORK/globex/client.pem" tls-client
expect_ok "certtool verifies the CRL's signature" certtool --verify-crl --load-ca-certificate "$CA/ca.pem" --infile "$WORK/crl.pem"
cat "$WORK/acme/client.pem" "$CA/ca.pem" >"$WORK/acme-chain.pem"
cat "$WORK/globex/client.pem" "$CA/ca.pem" >"$WORK/globex-chain.pem"
expect_fail "certtool refuses acme with the CRL" certtool --verify --load-ca-certificate "$CA/ca.pem" \
  --load-crl "$WORK/crl.pem" --infile "$WORK/acme-chain.pem"
expect_ok "certtool accepts globex with the CRL" certtool --verify --load-ca-certificate "$CA/ca.pem" \
  --load-crl "$WORK/crl.pem" --infile "$WORK/globex-chain.pem"
expect_fail "gen-crl does not replace the CRL without --force" G gen-crl --ca-cert "$CA/ca.pem" \
  --ca-key "$CA_KEY" --out "$WORK/crl.pem"
expect_ok "gen-crl --force" G gen-crl --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --out "$WORK/crl.pem" --force
expect_match "the CRL number only grows" "X509v3 CRL Number: *2" "$(openssl crl -in "$WORK/crl.pem" -noout -text | tr -s '\n ' ' ')"
expect_fail "nextUpdate beyond the CA is refused" G gen-crl --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" \
  --out "$WORK/crl2.pem" --next-update-days 367
expect_ok "no CRL file was written by the refusal" test ! -e "$WORK/crl2.pem"

# ---- ledger check: an interrupted run's reservation ----
expect_ok "ledger check: consistent" G ledger check --ca-cert "$CA/ca.pem"
sqlite3 "$CA/ca-ledger.db" "INSERT INTO certs (serial, role, identity, subject, san, not_before, not_after, spki_sha256, tbs_sha256, state, reserved_at) VALUES ('abc123', 'tenant', 'tenant ghost', 'CN=ghost', '', 0, 4000000000, 'x', 'y', 'reserved', 1)"
out=$(G ledger check --ca-cert "$CA/ca.pem")
rc=$?
expect_eq "ledger check exits 1 on an orphan" 1 "$rc"
expect_match "the orphan is named" "orphan: serial abc123" "$out"
G gen-crl --ca-cert "$CA/ca.pem" --ca-key "$CA_KEY" --out "$WORK/crl3.pem" >/dev/null 2>&1
expect_match "the orphan is on the next CRL (possibly issued)" "ABC123" \
  "$(openssl crl -in "$WORK/crl3.pem" -noout -text)"

# ---- the transcript ----
expect_ok "transcript verify with ca.pem alone" G transcript verify --ca "$CA/ca.pem"
tail -n 1 "$CA/ca-transcript.log" | jq -r .note >"$WORK/saved.note"
expect_ok "a saved checkpoint is extended" G transcript verify --ca "$CA/ca.pem" --checkpoint "$WORK/saved.note"
cp "$CA/ca-transcript.log" "$WORK/t.orig"
tamper() {  # DESCRIPTION NAMED SED-OR-CMD
  local d=$1 named=$2
  shift 2
  cp "$WORK/t.orig" "$CA/ca-transcript.log"
  "$@"
  out=$(G transcript verify --ca "$CA/ca.pem" --checkpoint "$WORK/saved.note" 2>&1)
  rc=$?
  if [ "$rc" = 1 ] && printf '%s' "$out" | grep -q -- "$named"; then
    tap_result 0 "tampering detected: $d"
  else
    tap_result 1 "tampering not detected: $d (exit $rc)" "$out"
  fi
}
tamper "an entry changed" "not the ones it signed" sed -i '3s/"tenant acme"/"tenant acmf"/' "$CA/ca-transcript.log"
tamper "an entry deleted" "stands where entry" sed -i '3d' "$CA/ca-transcript.log"
swap_batch_entries() { awk 'NR==9{h=$0;next} NR==10{print;print h;next} {print}' "$WORK/t.orig" >"$CA/ca-transcript.log"; }
tamper "entries reordered" "stands where entry" swap_batch_entries
tamper "a checkpoint removed" "checkpoints, but" sed -i '2d' "$CA/ca-transcript.log"
tamper "truncated" "saved checkpoint covers" sh -c "head -n 6 '$WORK/t.orig' >'$CA/ca-transcript.log'"
cp "$WORK/t.orig" "$CA/ca-transcript.log"
expect_ok "the original verifies again" G transcript verify --ca "$CA/ca.pem"
expect_match "transcript show lists the revocation" "revoke .*reason=keyCompromise" \
  "$(G transcript show --ca "$CA/ca.pem")"
tap_finish
