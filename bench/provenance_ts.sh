#!/usr/bin/env bash
# Timestamp overhead of image-provenance verify: one command, results on stdout (see
# bench/README.md, section "Provenance timestamps").
#
#   bench/provenance_ts.sh [BUILD_DIR]     (default BUILD_DIR: build; needs grafos-ca built)
#
# Environment knob: BENCH_REPEAT (verify runs of each bundle, default 100).
#
# A 1 MiB image is signed by grafos-ca (a file key issued by a grafos-ca CA) and the bundle is
# timestamped by `openssl ts -reply` with a TSA certificate from the same CA. Then `verify --ca`
# of the timestamped bundle and of the same bundle without its timestamp run BENCH_REPEAT times
# each, interleaved (one of each per round, so that machine load hits both alike); the per-process
# mean of each and their difference are printed. Target: the timestamp adds < 5 ms.
set -euo pipefail

BUILD=${1:-build}
GRAFOS_CA=${GRAFOS_CA:-$BUILD/tools/grafos-ca/grafos-ca}
REPEAT=${BENCH_REPEAT:-100}
[ -x "$GRAFOS_CA" ] || { echo "provenance_ts.sh: error: $GRAFOS_CA not built (ninja -C $BUILD)" >&2; exit 2; }
command -v jq >/dev/null || { echo "provenance_ts.sh: error: jq missing (scripts/install-deps.sh)" >&2; exit 2; }
GRAFOS_CA=$(realpath "$GRAFOS_CA")

W=$(mktemp -d "${TMPDIR:-/var/tmp}/grafos-bench-ts.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
export SSL_CERT_FILE=/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)"

git init -q repo && (cd repo && echo x >f && git add f && git -c user.name=b -c user.email=b@e commit -qm i)
head -c $((1 << 20)) /dev/urandom >bin
"$GRAFOS_CA" init-ca --out ca --cn "Bench CA" >/dev/null
"$GRAFOS_CA" issue-cert --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --out signer \
  --role provenance-signer --pipeline bench >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa-key.pem \
  -out tsa.csr -subj "/CN=timestamp-authority bench" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=critical,timeStamping" "subjectKeyIdentifier=hash" \
  "authorityKeyIdentifier=keyid:always" >tsa.ext
openssl x509 -req -in tsa.csr -CA ca/ca.pem -CAkey ca/ca-key.pem -set_serial 0x1 -days 30 \
  -sha256 -extfile tsa.ext -out tsa.pem 2>/dev/null
echo 01 >tsa.serial
cat >tsa.cnf <<CNF
[tsa]
default_tsa = t
[t]
serial = $W/tsa.serial
crypto_device = builtin
signer_cert = $W/tsa.pem
signer_key = $W/tsa-key.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.15
digests = sha256
ess_cert_id_alg = sha256
CNF
"$GRAFOS_CA" image-provenance build --image-kind lab-debian-image --image-name bench --repo repo \
  --binary "$W/bin" --sign-key signer/client-key.pem --sign-cert signer/client.pem \
  --output plain.json >/dev/null
jq -r '.dsseEnvelope.signatures[0].sig' plain.json | base64 -d >sig.bin
openssl ts -query -data sig.bin -sha256 -cert -out q.tsq 2>/dev/null
openssl ts -reply -config tsa.cnf -queryfile q.tsq -out reply.der 2>/dev/null
jq --arg t "$(base64 -w0 reply.der)" \
  '.verificationMaterial.timestampVerificationData.rfc3161Timestamps = [{signedTimestamp: $t}]' \
  plain.json >stamped.json
"$GRAFOS_CA" image-provenance verify --input stamped.json --ca ca/ca.pem | grep -q "^timestamp " ||
  { echo "provenance_ts.sh: error: the timestamped bundle does not verify" >&2; exit 1; }

# Warm-up, then interleaved rounds.
for f in plain stamped plain stamped; do
  "$GRAFOS_CA" image-provenance verify --input $f.json --ca ca/ca.pem >/dev/null
done
t_plain=0
t_stamped=0
for ((n = 0; n < REPEAT; n++)); do
  a=$(date +%s%N)
  "$GRAFOS_CA" image-provenance verify --input plain.json --ca ca/ca.pem >/dev/null
  b=$(date +%s%N)
  "$GRAFOS_CA" image-provenance verify --input stamped.json --ca ca/ca.pem >/dev/null
  c=$(date +%s%N)
  t_plain=$((t_plain + b - a))
  t_stamped=$((t_stamped + c - b))
done
echo "verify --ca of a signed bundle, 1 MiB image, $REPEAT interleaved runs each"
awk -v a="$t_plain" -v b="$t_stamped" -v n="$REPEAT" 'BEGIN {
  pa = a / n / 1e6; pb = b / n / 1e6; d = pb - pa
  printf "  untimestamped %.2f ms, timestamped %.2f ms per process, timestamp adds %.2f ms (target < 5: %s)\n",
    pa, pb, d, (d < 5 ? "met" : "MISSED")
}'
