#!/usr/bin/env bash
# Token faults during signing. The CA key and a provenance-signer key live in a real SoftHSMv2
# token; every signing command reaches it through tests/support/p11_fault.cpp, a PKCS#11 module
# that forwards to SoftHSMv2 and injects one fault (a CKR_ code at C_Login, C_FindObjects,
# C_SignInit or C_Sign, or a corrupted signature from C_Sign). For every command that signs
# (init-ca, issue-cert, issue-cert --batch, revoke, gen-crl, image-provenance sign) and every
# fault: the command fails, its error names the return code (or the bad signature), no
# certificate, CRL, bundle or checkpoint is emitted, and afterwards `ledger check` and
# `transcript verify` pass with the ledger and transcript as they were.
# No process is killed here: the token survives every case (SoftHSMv2's store is not crash-safe).
source "${GRAFOS_SOURCE_ROOT:?run under meson test}/tests/interop/lib.sh"
FAULT_MODULE=${GRAFOS_P11_FAULT_MODULE:?run under meson test}
CA=$GRAFOS_CA

softhsm_token fault || bail "no SoftHSM token"
export GRAFOS_P11_FAULT_TARGET=$SOFTHSM_MODULE
PIN=$WORK/softhsm/user.pin
real_ref() { echo "pkcs11:token=fault;object=$1?module-path=$SOFTHSM_MODULE&pin-source=file:$PIN"; }
fault_ref() { echo "pkcs11:token=fault;object=$1?module-path=$FAULT_MODULE&pin-source=file:$PIN"; }

# The CA on the real module; a provenance signer whose key is moved into the token.
"$CA" init-ca --out "$WORK/ca" --key "$(real_ref ca)" >/dev/null 2>&1 || bail "init-ca on the token"
C=$WORK/ca/ca.pem
"$CA" issue-cert --ca-cert "$C" --ca-key "$(real_ref ca)" --role provenance-signer --pipeline ci \
  --out "$WORK/signer" >/dev/null 2>&1 || bail "issuing the provenance signer"
"${GRAFOS_P11_IMPORT_KEY:?run under meson test}" "$SOFTHSM_MODULE" fault signer 5e \
  "$WORK/signer/client-key.pem" "$PIN" >/dev/null || bail "importing the signer key"
"$CA" issue-cert --ca-cert "$C" --ca-key "$(real_ref ca)" --tenant victim --out "$WORK/victim" \
  >/dev/null 2>&1 || bail "issuing the certificate to revoke"
mkdir -p "$WORK/repo" && printf 'hello\n' >"$WORK/repo/bin"
git -C "$WORK/repo" init -q && git -C "$WORK/repo" add bin &&
  git -C "$WORK/repo" -c user.name=t -c user.email=t@example.invalid commit -qm bin ||
  bail "making a repository"
"$CA" image-provenance build --image-kind lab-debian-image --image-name fault --repo "$WORK/repo" \
  --binary "$WORK/repo/bin" --output "$WORK/record.json" >/dev/null 2>&1 ||
  bail "building a provenance record"
printf 'cell lab 101\ncell lab 102\n' >"$WORK/batch.txt"

# The forwarding module itself, with no fault armed, signs as SoftHSMv2 does.
expect_ok "with no fault armed the forwarding module issues a certificate" \
  "$CA" issue-cert --ca-cert "$C" --ca-key "$(fault_ref ca)" --tenant clean --out "$WORK/clean"
# A misspelt fault is not taken as "no fault".
out=$(GRAFOS_P11_FAULT=C_Sign:CKR_TYPO "$CA" issue-cert --ca-cert "$C" --ca-key "$(fault_ref ca)" \
  --tenant typo --out "$WORK/typo" 2>&1)
rc=$?
expect_eq "an unknown fault setting fails the module load (exit $rc)" "no-files" \
  "$( [ "$rc" -ne 0 ] && [ ! -e "$WORK/typo" ] && echo no-files)"

ledger_state() { sqlite3 "$WORK/ca/ca-ledger.db" 'SELECT serial, state FROM certs ORDER BY rowid' 2>&1; }
transcript_size() { wc -l <"$WORK/ca/ca-transcript.log"; }

# run_case FAULT NAME FILES... -- CMD...: runs CMD with FAULT armed and checks the refusal.
run_case() {
  local fault=$1 name=$2 files=() f out rc before_ledger before_lines
  shift 2
  while [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  before_ledger=$(ledger_state)
  before_lines=$(transcript_size)
  out=$(GRAFOS_P11_FAULT=$fault "$@" 2>&1)
  rc=$?
  local want=${fault#*:}
  [ "$want" = corrupt ] && want='signature'
  local bad=""
  [ "$rc" -ne 0 ] || bad+="exit 0; "
  grep -q -- "$want" <<<"$out" || bad+="error does not name $want; "
  for f in "${files[@]}"; do [ -e "$f" ] && bad+="$f written; "; done
  [ "$(ledger_state)" = "$before_ledger" ] || bad+="ledger changed; "
  [ "$(transcript_size)" = "$before_lines" ] || bad+="transcript grew; "
  tap_result "$([ -z "$bad" ] && echo 0 || echo 1)" "$name under $fault: refused (exit $rc), nothing written" \
    "$bad"$'\n'"$out"
}

faults=(CKR_DEVICE_REMOVED CKR_SESSION_HANDLE_INVALID CKR_DEVICE_ERROR CKR_GENERAL_ERROR CKR_FUNCTION_FAILED)
points=(C_Login C_FindObjects C_SignInit C_Sign)
i=0
for point in "${points[@]}"; do
  for code in "${faults[@]}" corrupt; do
    [ "$code" = corrupt ] && [ "$point" != C_Sign ] && continue
    f="$point:$code"
    i=$((i + 1))
    run_case "$f" "issue-cert" "$WORK/o$i" -- \
      "$CA" issue-cert --ca-cert "$C" --ca-key "$(fault_ref ca)" --tenant "t$i" --out "$WORK/o$i"
    run_case "$f" "issue-cert --batch" "$WORK/b$i" -- \
      "$CA" issue-cert --ca-cert "$C" --ca-key "$(fault_ref ca)" --batch "$WORK/batch.txt" --out "$WORK/b$i"
    run_case "$f" "revoke" -- \
      "$CA" revoke --ca-cert "$C" --ca-key "$(fault_ref ca)" --cert "$WORK/victim/client.pem" --reason superseded
    run_case "$f" "gen-crl" "$WORK/crl$i.pem" -- \
      "$CA" gen-crl --ca-cert "$C" --ca-key "$(fault_ref ca)" --out "$WORK/crl$i.pem"
    run_case "$f" "image-provenance sign" "$WORK/signed$i.json" -- \
      "$CA" image-provenance sign --input "$WORK/record.json" --sign-key "$(fault_ref signer)" \
      --sign-cert "$WORK/signer/client.pem" --output "$WORK/signed$i.json"
    run_case "$f" "init-ca" "$WORK/newca$i" -- \
      "$CA" init-ca --out "$WORK/newca$i" --key "$(fault_ref "newca$i")"
  done
done

# Afterwards the CA's memory is whole, and the revoked certificate never got revoked.
expect_ok "ledger check passes after every fault" "$CA" ledger check --ca-cert "$C"
expect_ok "transcript verify passes after every fault" "$CA" transcript verify --ca-cert "$C"
expect_match "the certificate a faulted revoke aimed at is still issued" "issued" \
  "$("$CA" list-certs --ca-cert "$C" 2>&1 | grep victim)"
# And the token still works through the real module.
expect_ok "the token signs after the faults" \
  "$CA" issue-cert --ca-cert "$C" --ca-key "$(real_ref ca)" --tenant after --out "$WORK/after"
tap_finish
