#!/usr/bin/env bash
# The CA's memory, measured (bench/README.md, section "Ledger, CRL, transcript"):
#
#   bench/lifecycle.sh [BUILD_DIR]   (default build)
#
# 1. issue-cert --batch of BENCH_BATCH (default 10000) cells with the CA key in a private
#    SoftHSMv2 token, ledger and transcript included, files durable: certificates/s (target
#    >= 1,000) and peak RSS (target < 50 MB), from /usr/bin/time -v.
# 2. gen-crl with BENCH_REVOKED (default 100000) revoked entries in the ledger (rows added with
#    sqlite3, as a long-lived CA would have them), against `openssl ca -gencrl` over an index.txt
#    of the same entries with the same file key, in the same run: seconds (target < 2 s).
# 3. transcript verify of a transcript with BENCH_ENTRIES (default 100000) entries (target < 2 s).
[ -n "${BASH_VERSION:-}" ] || { echo "lifecycle.sh: run it with bash" >&2; exit 2; }
set -euo pipefail
BUILD=${1:-build}
CA=$(realpath "${GRAFOS_CA:-$BUILD/tools/grafos-ca/grafos-ca}")
INIT_TOKEN=$(realpath "$BUILD/tests/support/p11_init_token")
BATCH=${BENCH_BATCH:-10000}
REVOKED=${BENCH_REVOKED:-100000}
ENTRIES=${BENCH_ENTRIES:-100000}
W=$(mktemp -d "${TMPDIR:-/tmp}/grafos-bench-life.XXXXXX")
trap 'rm -rf "$W"' EXIT
export SSL_CERT_FILE=/dev/null
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- 1. batch with the SoftHSM key ----
mkdir -p "$W/tok"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$W/tok" >"$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
(umask 077; printf '246813\n' >"$W/user.pin"; printf '13572468\n' >"$W/so.pin")
"$INIT_TOKEN" /usr/lib/softhsm/libsofthsm2.so bench "$W/so.pin" "$W/user.pin" >/dev/null
URI="pkcs11:token=bench;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$W/user.pin"
"$CA" init-ca --out "$W/hsm" --key "$URI" >/dev/null
for i in $(seq 1 "$BATCH"); do echo "cell bench $i"; done >"$W/batch.txt"
t0=$EPOCHREALTIME
/usr/bin/time -v "$CA" issue-cert --ca-cert "$W/hsm/ca.pem" --ca-key "$URI" --batch "$W/batch.txt" \
  --out "$W/cells" >/dev/null 2>"$W/time.txt"
t1=$EPOCHREALTIME
rss=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$W/time.txt")
el=$(secs "$t0" "$t1")
echo "batch: $BATCH certificates with the SoftHSM key, ledger and transcript: ${el} s," \
  "$(awk -v n="$BATCH" -v s="$el" 'BEGIN { printf "%.0f", n / s }') certs/s, peak RSS $((rss / 1024)) MB" \
  "(targets >= 1000 certs/s, < 50 MB)"
"$CA" transcript verify --ca "$W/hsm/ca.pem" >/dev/null || echo "batch: transcript verify FAILED"
"$CA" ledger check --ca-cert "$W/hsm/ca.pem" >/dev/null || echo "batch: ledger check FAILED"

# ---- 2. gen-crl of REVOKED entries, against openssl ca -gencrl ----
"$CA" init-ca --out "$W/file" >/dev/null
now=$(date +%s)
python3 - "$W/file/ca-ledger.db" "$REVOKED" "$now" <<'PY'
import sqlite3, sys, os
db, n, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db)
rows = []
for i in range(n):
    serial = "%040x" % (0x10000000000000000000000000000000000000 + i)
    rows.append((serial, "cell", "cell bench %d" % i, "CN=cell", "", now - 86400, now + 86400 * 300,
                 "spki%d" % i, "tbs", "cert", "revoked", now - 100, now - 100, now - 50, 1, None, ""))
c.executemany("INSERT INTO certs (serial, role, identity, subject, san, not_before, not_after, spki_sha256, tbs_sha256, cert_sha256, state, reserved_at, issued_at, revoked_at, reason, invalidity_date, path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
c.commit()
PY
t0=$EPOCHREALTIME
"$CA" gen-crl --ca-cert "$W/file/ca.pem" --ca-key "$W/file/ca-key.pem" --out "$W/crl.pem" >/dev/null
t1=$EPOCHREALTIME
g=$(secs "$t0" "$t1")
# openssl ca over the same serials: index.txt lines "R\t<exp>\t<rev>,keyCompromise\t<serial>\tunknown\t/CN=cell"
mkdir -p "$W/ossl"
exp=$(date -u -d @$((now + 86400 * 300)) +%y%m%d%H%M%SZ)
rev=$(date -u -d @$((now - 50)) +%y%m%d%H%M%SZ)
python3 - "$W/ossl/index.txt" "$REVOKED" "$exp" "$rev" <<'PY'
import sys
path, n, exp, rev = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(path, "w") as f:
    for i in range(n):
        f.write("R\t%s\t%s,keyCompromise\t%040X\tunknown\t/CN=cell%d\n" % (exp, rev, 0x10000000000000000000000000000000000000 + i, i))
PY
echo 01 >"$W/ossl/crlnumber"
cat >"$W/ossl/ca.cnf" <<CNF
[ ca ]
default_ca = fabric
[ fabric ]
database = $W/ossl/index.txt
crlnumber = $W/ossl/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
t0=$EPOCHREALTIME
openssl ca -config "$W/ossl/ca.cnf" -gencrl -cert "$W/file/ca.pem" -keyfile "$W/file/ca-key.pem" \
  -out "$W/ossl/crl.pem" 2>/dev/null
t1=$EPOCHREALTIME
o=$(secs "$t0" "$t1")
echo "gen-crl: $REVOKED revoked entries: grafos-ca ${g} s, openssl ca -gencrl ${o} s, ratio" \
  "$(awk -v a="$g" -v b="$o" 'BEGIN { printf "%.2f", a / b }') (target < 2 s)"
openssl crl -in "$W/crl.pem" -CAfile "$W/file/ca.pem" -noout 2>/dev/null || echo "gen-crl: CRL does not verify"

# ---- 3. transcript verify of ENTRIES entries ----
# A transcript of ENTRIES entries: batches of up to 10,000 cells with a file key, on its own CA.
"$CA" init-ca --out "$W/tv" >/dev/null
left=$ENTRIES
k=0
while [ "$left" -gt 1 ]; do
  n=$((left - 1 > 10000 ? 10000 : left - 1))
  for i in $(seq 1 "$n"); do echo "cell t$k $i"; done >"$W/tb.txt"
  "$CA" issue-cert --ca-cert "$W/tv/ca.pem" --ca-key "$W/tv/ca-key.pem" --batch "$W/tb.txt" \
    --out "$W/t$k" >/dev/null
  rm -rf "$W/t$k"
  left=$((left - n))
  k=$((k + 1))
done
entries=$(grep -c '"type":"entry"' "$W/tv/ca-transcript.log")
t0=$EPOCHREALTIME
"$CA" transcript verify --ca "$W/tv/ca.pem" >"$W/verify.out"
t1=$EPOCHREALTIME
echo "transcript verify: $entries entries, $(head -c 200 "$W/verify.out" | head -n 1): $(secs "$t0" "$t1") s (target < 2 s)"
