#!/usr/bin/env bash
# grafos-registry benchmark (issue 4): in one run,
#  1. wrk on loopback, GET /api/v1/tenants with 100 tenants, bearer-token auth, keep-alive, against
#     grafos-registry and against nginx serving the same JSON as a static file with the same
#     certificate and TLS settings (TLS 1.3; TLS 1.2 ECDHE+AEAD);
#  2. new mTLS handshakes per second (full handshake, client certificate, no resumption) with
#     `openssl s_time -new` against grafos-registry --auth mtls and against `openssl s_server`.
# Usage: bench/registry.sh [BUILD_DIR] (default build). Env: DURATION (s, default 10),
# CONNS (default 32), THREADS (wrk threads, default 2), REG_THREADS (server threads, default nproc).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
export GRAFOS_REGISTRY=$BUILD/tools/grafos-registry/grafos-registry
export GRAFOS_CA=$BUILD/tools/grafos-ca/grafos-ca
for f in "$GRAFOS_REGISTRY" "$GRAFOS_CA"; do
  [ -x "$f" ] || { echo "registry.sh: error: $f not built (ninja -C $BUILD)" >&2; exit 2; }
done
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
WT=${THREADS:-2}
. "$ROOT/tests/registry/lib.sh"
set +u
make_pki
DB=$T/db
for i in $(seq 1 100); do "$GRAFOS_REGISTRY" tenant add "tenant$i" --db "$DB" >/dev/null; done
"$GRAFOS_REGISTRY" admin-token add bench --db "$DB" >"$T/tok"
TOKEN=$(grep -oE 'gfa_[0-9a-f]{64}' "$T/tok")

# The server is asynchronous (Boost.Beast): its threads are CPU workers, one per core, however many
# connections wrk opens (REG_THREADS overrides).
REG_THREADS=${REG_THREADS:-$(nproc)} start_server "$DB" --auth token || { echo "registry did not start"; cat "$T/server.log" "$SERVER_LOG"; exit 1; }
REG_PORT=$PORT
curl -s --cacert "$T/pki/ca.pem" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/tenants" >"$T/tenants.json"
echo "payload: $(wc -c <"$T/tenants.json") bytes, $(jq '.tenants | length' "$T/tenants.json") tenants"

# nginx with the same certificate, protocols and suites, serving the same JSON.
NPORT=$((REG_PORT + 1)); mkdir -p "$T/nginx/www/api/v1" "$T/nginx/tmp"
cp "$T/tenants.json" "$T/nginx/www/api/v1/tenants"
cat >"$T/nginx/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes auto;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp;
  fastcgi_temp_path $T/nginx/tmp; uwsgi_temp_path $T/nginx/tmp; scgi_temp_path $T/nginx/tmp;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $T/pki/server.pem;
    ssl_certificate_key $T/pki/server-key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers on;
    root $T/nginx/www;
    default_type application/json;
  }
}
CONF
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" -e "$T/nginx/error.log" 2>/dev/null
sleep 0.5
trap 'set +e; [ -s "$T/nginx/nginx.pid" ] && kill "$(cat "$T/nginx/nginx.pid")" 2>/dev/null; cleanup' EXIT
cmp -s <(curl -s --cacert "$T/pki/ca.pem" "https://127.0.0.1:$NPORT/api/v1/tenants") "$T/tenants.json" ||
  { echo "nginx does not serve the same JSON"; exit 1; }

run_wrk() { # name url
  wrk -t"$WT" -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$2" >"$T/wrk-$1.txt"
  local rps p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$T/wrk-$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$T/wrk-$1.txt")
  errs=$(awk '/Socket errors|Non-2xx/ {print}' "$T/wrk-$1.txt" | tr '\n' ' ')
  echo "$1: ${rps} req/s, p99 ${p99}, errors: ${errs:-none}"
  eval "RPS_$1=$rps"
}
echo "== wrk -t$WT -c$CONNS -d${DURATION}s, keep-alive, token auth"
run_wrk registry "https://127.0.0.1:$REG_PORT/api/v1/tenants"
run_wrk nginx "https://127.0.0.1:$NPORT/api/v1/tenants"
echo "ratio registry/nginx: $(awk -v a="$RPS_registry" -v b="$RPS_nginx" 'BEGIN {printf "%.2f", a / b}')"
kill "$(cat "$T/nginx/nginx.pid")"
stop_server

# new mTLS handshakes/s
echo "== openssl s_time -new (full handshakes with a client certificate), ${DURATION}s each"
REG_THREADS=${REG_THREADS:-$(nproc)} start_server "$DB" --auth mtls || { echo "registry (mtls) did not start"; exit 1; }
stime() { # name port [extra]
  openssl s_time -connect "127.0.0.1:$2" -new -time "$DURATION" -CAfile "$T/pki/ca.pem" \
    -cert "$T/pki/admin.pem" -key "$T/pki/admin-key.pem" "${@:3}" 2>/dev/null >"$T/st-$1.txt" || true
  local n s
  n=$(awk '/connections in .* real seconds/ {print $1}' "$T/st-$1.txt" | tail -1)
  s=$(awk '/connections in .* real seconds/ {print $4}' "$T/st-$1.txt" | tail -1)
  local rate; rate=$(awk -v n="$n" -v s="$s" 'BEGIN {if (s > 0) printf "%.0f", n / s; else print 0}')
  echo "$1: $n handshakes in $s s = $rate/s"
  eval "HS_$1=$rate"
}
stime registry "$PORT"
stop_server
SPORT=$((PORT + 2))
openssl s_server -accept "127.0.0.1:$SPORT" -cert "$T/pki/server.pem" -key "$T/pki/server-key.pem" \
  -CAfile "$T/pki/ca.pem" -Verify 2 -quiet -naccept 1000000 >/dev/null 2>&1 &
SPID=$!; EXTRA_PIDS+=("$SPID"); sleep 0.5
stime s_server "$SPORT"
kill "$SPID" 2>/dev/null || true
echo "ratio registry/s_server: $(awk -v a="$HS_registry" -v b="$HS_s_server" 'BEGIN {if (b > 0) printf "%.2f", a / b}')"
echo "machine: $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
