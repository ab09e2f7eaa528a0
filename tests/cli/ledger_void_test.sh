#!/usr/bin/env bash
# `grafos-ca ledger void`: a custodian confirms that a reserved serial (left by an interrupted run)
# was never issued, so it leaves the CRL. The reserved serial is made for real: issue-cert signs,
# stops itself just before it commits client.pem (tests/support/fail_rename.cpp, LD_PRELOAD, with
# GRAFOS_FAULT_RENAME_STOP) and is killed there with SIGKILL, so the row stays reserved (possibly
# issued). Every refusal leaves the ledger and transcript unchanged.
# Also: a version 1 ledger (before the state 'void' existed) is migrated on open, rows kept; a
# ledger from a newer grafos-ca is refused.
source "${GRAFOS_SOURCE_ROOT:?run under meson test}/tests/interop/lib.sh"
CA=$GRAFOS_CA
SHIM=${GRAFOS_FAULT_RENAME_SHIM:?run under meson test}

ca_init "$WORK/ca" >/dev/null 2>&1 || bail "init-ca"
C=$WORK/ca/ca.pem
K=$WORK/ca/ca-key.pem
L=$WORK/ca/ca-ledger.db
"$CA" issue-cert --ca-cert "$C" --ca-key "$K" --tenant kept --out "$WORK/kept" >/dev/null 2>&1 ||
  bail "issue-cert"
LD_PRELOAD=$SHIM GRAFOS_FAULT_RENAME=lost/client.pem GRAFOS_FAULT_RENAME_STOP=1 "$CA" issue-cert \
  --ca-cert "$C" --ca-key "$K" --tenant lost --out "$WORK/lost" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 200); do
  [ "$(awk '{print $3}' "/proc/$victim/stat" 2>/dev/null)" = T ] && break
  sleep 0.05
done
kill -9 "$victim"
wait "$victim" 2>/dev/null
reserved=$(sqlite3 "$L" "SELECT serial FROM certs WHERE state = 'reserved'")
issued=$(sqlite3 "$L" "SELECT serial FROM certs WHERE state = 'issued' AND role <> 'ca'")
[ -n "$reserved" ] || bail "no reserved serial after the disk error"
expect_fail "ledger check reports the orphan" "$CA" ledger check --ca-cert "$C"
"$CA" gen-crl --ca-cert "$C" --ca-key "$K" --out "$WORK/crl1.pem" >/dev/null 2>&1 || bail "gen-crl"
expect_match "the CRL lists the reserved serial as possibly issued" "${reserved^^}" \
  "$(openssl crl -in "$WORK/crl1.pem" -noout -text | tr -d ' ')"

snapshot() { sqlite3 "$L" 'SELECT serial, state FROM certs ORDER BY rowid'; wc -l <"$WORK/ca/ca-transcript.log"; }
before=$(snapshot)
# refuse DESCRIPTION EXPECTED-TEXT ARGS...: ledger void fails, says EXPECTED-TEXT, changes nothing.
refuse() {
  local desc=$1 want=$2 out rc
  shift 2
  out=$("$CA" ledger void --ca-cert "$C" "$@" 2>&1)
  rc=$?
  local bad=""
  [ "$rc" -ne 0 ] || bad+="exit 0; "
  grep -qF -- "$want" <<<"$out" || bad+="no '$want'; "
  [ "$(snapshot)" = "$before" ] || bad+="ledger or transcript changed; "
  tap_result "$([ -z "$bad" ] && echo 0 || echo 1)" "$desc (exit $rc)" "$bad"$'\n'"$out"
}
refuse "void without the CA key is a usage error" "--ca-key" --serial "$reserved"
refuse "void of an issued serial is refused" "is issued, not reserved" --ca-key "$K" --serial "$issued"
refuse "void of an unknown serial is refused" "is not in the ledger" --ca-key "$K" --serial 0badc0de
refuse "a serial that is not hex is refused" "serial" --ca-key "$K" --serial 'zz;rm'
refuse "void with another CA's key is refused" "key" --ca-key "$WORK/kept/client-key.pem" --serial "$reserved"

out=$("$CA" ledger void --ca-cert "$C" --ca-key "$K" --serial "$reserved" --note "disk failed; lost/ empty" 2>&1)
expect_match "void confirms the reserved serial" "is void" "$out"
expect_eq "the row is void" "void" "$(sqlite3 "$L" "SELECT state FROM certs WHERE serial = '$reserved'")"
expect_match "list-certs --state void shows it" "$reserved" "$("$CA" list-certs --ca-cert "$C" --state void 2>&1)"
expect_ok "ledger check is consistent again" "$CA" ledger check --ca-cert "$C"
expect_ok "transcript verify passes with the void entry" "$CA" transcript verify --ca "$C"
expect_match "the transcript records the void and its note" '"op":"void".*"statement":"disk failed; lost/ empty"' \
  "$(tail -n 40 "$WORK/ca/ca-transcript.log")"
"$CA" gen-crl --ca-cert "$C" --ca-key "$K" --out "$WORK/crl2.pem" >/dev/null 2>&1 || bail "gen-crl 2"
crl2=$(openssl crl -in "$WORK/crl2.pem" -noout -text | tr -d ' ')
expect_eq "the next CRL no longer lists the void serial" "0" "$(grep -c "${reserved^^}" <<<"$crl2")"
before=$(snapshot)
refuse "voiding twice is refused" "is void, not reserved" --ca-key "$K" --serial "$reserved"
out=$("$CA" revoke --ca-cert "$C" --ca-key "$K" --serial "$reserved" 2>&1)
rc=$?
expect_match "a void serial cannot be revoked (exit $rc)" "is void" "$out"
expect_eq "the refused revoke changed nothing" "$before" "$(snapshot)"

# A custodian who voided a serial that was in fact written is told so: the killed run left the
# signed certificate in its temporary file; put where the ledger recorded it, ledger check names it.
tmpcert=$(find "$WORK/lost" -name '.client.pem.tmp-*' | head -n 1)
if [ -n "$tmpcert" ]; then
  cp "$tmpcert" "$WORK/lost/client.pem"
  out=$("$CA" ledger check --ca-cert "$C" 2>&1)
  rc=$?
  expect_match "ledger check names a void serial whose certificate is on disk (exit $rc)" \
    "is void \(confirmed never issued\), but .*lost/client.pem holds its certificate" "$out"
  rm -f "$WORK/lost/client.pem"
else
  tap_result 1 "the killed run left its signed certificate in a temporary file" "$(ls -la "$WORK/lost" 2>&1)"
fi

# The transcript and the ledger must agree on the void: a ledger edited behind the CA's back is
# named by transcript verify.
cp "$L" "$WORK/ledger-copy.db"
sqlite3 "$WORK/ledger-copy.db" "UPDATE certs SET state = 'reserved' WHERE serial = '$reserved'"
out=$("$CA" transcript verify --ca "$C" --ledger "$WORK/ledger-copy.db" 2>&1)
expect_match "transcript verify names a void undone in the ledger" "transcript voided it" "$out"

# A version 1 ledger (CHECK without 'void') is migrated when opened, rows and order kept.
V1=$WORK/v1
ca_init "$V1" >/dev/null 2>&1 || bail "init-ca v1"
"$CA" issue-cert --ca-cert "$V1/ca.pem" --ca-key "$V1/ca-key.pem" --tenant a --out "$V1/a" >/dev/null 2>&1
sqlite3 "$V1/ca-ledger.db" <<'SQL' || bail "making a version 1 ledger"
BEGIN;
ALTER TABLE certs RENAME TO certs_new;
CREATE TABLE certs (serial TEXT PRIMARY KEY, role TEXT NOT NULL, identity TEXT NOT NULL,
  subject TEXT NOT NULL, san TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
  spki_sha256 TEXT NOT NULL, tbs_sha256 TEXT NOT NULL, cert_sha256 TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('reserved', 'issued', 'revoked')), reserved_at INTEGER NOT NULL,
  issued_at INTEGER, revoked_at INTEGER, reason INTEGER, invalidity_date INTEGER,
  path TEXT NOT NULL DEFAULT '');
INSERT INTO certs (rowid, serial, role, identity, subject, san, not_before, not_after, spki_sha256,
  tbs_sha256, cert_sha256, state, reserved_at, issued_at, revoked_at, reason, invalidity_date, path)
  SELECT rowid, serial, role, identity, subject, san, not_before, not_after, spki_sha256, tbs_sha256,
  cert_sha256, state, reserved_at, issued_at, revoked_at, reason, invalidity_date, path FROM certs_new;
DROP TABLE certs_new;
UPDATE meta SET value = '1' WHERE key = 'schema_version';
COMMIT;
SQL
rows_v1=$(sqlite3 "$V1/ca-ledger.db" 'SELECT serial, state FROM certs ORDER BY rowid')
expect_ok "a version 1 ledger opens" "$CA" list-certs --ca-cert "$V1/ca.pem"
expect_eq "and is migrated to version 2" "2" \
  "$(sqlite3 "$V1/ca-ledger.db" "SELECT value FROM meta WHERE key = 'schema_version'")"
expect_eq "its rows are kept, in order" "$rows_v1" \
  "$(sqlite3 "$V1/ca-ledger.db" 'SELECT serial, state FROM certs ORDER BY rowid')"
expect_match "the migrated table takes the state void" "'void'" \
  "$(sqlite3 "$V1/ca-ledger.db" "SELECT sql FROM sqlite_master WHERE name = 'certs'")"
expect_eq "the migrated table keeps its two indexes" "certs_spki certs_state" \
  "$(sqlite3 "$V1/ca-ledger.db" "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'certs' AND name LIKE 'certs_%' ORDER BY name" | tr '\n' ' ' | sed 's/ $//')"
expect_ok "transcript verify passes after the migration" "$CA" transcript verify --ca "$V1/ca.pem"
sqlite3 "$V1/ca-ledger.db" "UPDATE meta SET value = '9' WHERE key = 'schema_version'"
out=$("$CA" list-certs --ca-cert "$V1/ca.pem" 2>&1)
expect_match "a ledger from a newer grafos-ca is refused" "schema version 9, newer" "$out"
tap_finish
