#!/usr/bin/env bash
# RFC 3161 TSA benchmark (issue 15), in one run:
#  1. timestamp requests/s from grafos-registry serve --tsa-cert/--tsa-key with a FILE key:
#     bench/tsa_bench.cpp keeps CONNS mTLS keep-alive connections (client certificate from
#     grafos-ca) and POSTs one SHA-256 query (openssl ts -query, certReq) on each, counting only
#     200 application/timestamp-reply answers. Target >= 2,000/s.
#  2. the same with the TSA key in a private SoftHSMv2 token (pkcs11: URI), against SoftHSM's own
#     ECDSA signing rate through libp11 (tsa_bench sign, the path the TSA signs with), measured
#     in the same run with the same number of threads. Target >= 0.8x.
# Each server's serial counter is in its database (one write transaction per 1024 serials).
# Usage: bench/tsa.sh [BUILD_DIR] (default build). Env: DURATION (s, default 5), CONNS (default
# 16), REG_THREADS (server threads, default nproc).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
export GRAFOS_REGISTRY=$BUILD/tools/grafos-registry/grafos-registry
export GRAFOS_CA=$BUILD/tools/grafos-ca/grafos-ca
BENCH=$BUILD/bench/tsa_bench
INIT_TOKEN=$BUILD/tests/support/p11_init_token
IMPORT_KEY=$BUILD/tests/support/p11_import_key
for f in "$GRAFOS_REGISTRY" "$GRAFOS_CA" "$BENCH" "$INIT_TOKEN" "$IMPORT_KEY"; do
  [ -x "$f" ] || { echo "tsa.sh: error: $f not built (ninja -C $BUILD)" >&2; exit 2; }
done
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
export REG_THREADS=${REG_THREADS:-$(nproc)}
. "$ROOT/tests/registry/lib.sh"
set +u
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate_of() { sed -n 's/.* rate \([0-9]*\)\/s.*/\1/p' "$1"; }

echo "# grafos-registry TSA benchmark"
echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:        $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "settings:    DURATION=${DURATION}s CONNS=$CONNS REG_THREADS=$REG_THREADS"
echo

make_pki >/dev/null
P=$T/pki
gca tsa -- --role timestamp-authority --name bench-tsa
head -c 64 /dev/urandom >"$T/data"
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q.tsq" 2>/dev/null

run_posts() { # LABEL -> prints the rate line, leaves the rate in $T/post.out
  "$BENCH" post 127.0.0.1 "$PORT" "$P/ca.pem" "$P/admin.pem" "$P/admin-key.pem" "$T/q.tsq" \
    "$CONNS" "$DURATION" >"$T/post.out" 2>"$T/post.err" || true
  printf '%-34s %s\n' "$1" "$(cat "$T/post.out")"
  [ -s "$T/post.err" ] && sed 's/^/  # /' "$T/post.err" | head -3
  return 0
}

# 1. file key
start_server "$T/db-file" --tsa-cert "$P/tsa.pem" --tsa-key "$P/tsa-key.pem" ||
  { echo "registry did not start"; cat "$SERVER_LOG"; exit 1; }
run_posts "TSA, file key:"
FILE_RATE=$(rate_of "$T/post.out")
stop_server

# 2. SoftHSM key: the TSA key moved into a private token.
mkdir -p "$T/tok"
SOFTHSM_TEST_PIN=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n') GRAFOS_P11_INIT_TOKEN=$INIT_TOKEN \
  sh "$ROOT/tests/support/softhsm-token.sh" "$T/tok" bench-tsa >"$T/tok.env"
. "$T/tok.env"
"$IMPORT_KEY" "$GRAFOS_TEST_PKCS11_MODULE" bench-tsa tsa-key 01 "$P/tsa-key.pem" \
  "$GRAFOS_TEST_PKCS11_PIN_FILE" >/dev/null
URI="pkcs11:token=bench-tsa;object=tsa-key?module-path=$GRAFOS_TEST_PKCS11_MODULE&pin-source=file:$GRAFOS_TEST_PKCS11_PIN_FILE"
"$BENCH" sign "$URI" "$REG_THREADS" "$DURATION" >"$T/sign.out"
printf '%-34s %s\n' "SoftHSM's own signing (libp11):" "$(cat "$T/sign.out")"
SIGN_RATE=$(rate_of "$T/sign.out")
start_server "$T/db-hsm" --tsa-cert "$P/tsa.pem" --tsa-key "$URI" ||
  { echo "registry did not start"; cat "$SERVER_LOG"; exit 1; }
run_posts "TSA, SoftHSM key:"
HSM_RATE=$(rate_of "$T/post.out")
stop_server

echo
echo "file key:    ${FILE_RATE:-0}/s (target >= 2000/s: $(awk -v r="${FILE_RATE:-0}" 'BEGIN { print (r >= 2000) ? "met" : "MISSED" }'))"
R=$(ratio "${HSM_RATE:-0}" "${SIGN_RATE:-1}")
echo "SoftHSM key: ${HSM_RATE:-0}/s = ${R}x SoftHSM's own ${SIGN_RATE:-0} signatures/s (target >= 0.8x: $(awk -v r="$R" 'BEGIN { print (r >= 0.8) ? "met" : "MISSED" }'))"
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
