#!/usr/bin/env bash
# Hostile clients without a client certificate, against a running server over real TLS: a 1 MiB
# request line and 1,000 header fields are refused (431) with the connection closed and the
# server's RSS under 64 MB; a refused request's body is never run as a request; 2,000 idle or
# byte-dribbling connections do not keep a fabric-admin request from completing within 500 ms.
. "$(dirname "$0")/lib.sh"
HOSTILE="python3 $(dirname "$0")/hostile.py"
# room for 2,000 connections on both sides (the server raises its own soft limit too)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 8192 2>/dev/null || true
make_pki
DB=$T/db
start_server "$DB" || { echo "Bail out! server did not start"; cat "$T/server.log"; exit 1; }
P=$T/pki
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
expect_status "create acme" 201 admin POST /tenants '{"name":"acme"}'
# Deadlines, measured in the background while the rest runs: headers dribbled a byte a second, and
# a TCP connection that never starts TLS, are both closed by the server after its 10 s deadline.
$HOSTILE "$PORT" "$P/ca.pem" dribble >"$T/dribble.out" 2>&1 &
DRIBBLE=$!
$HOSTILE "$PORT" "$P/ca.pem" idletcp >"$T/idletcp.out" 2>&1 &
IDLETCP=$!
rss0=$(rss_kb)
echo "# server RSS at start: ${rss0} kB"

# ---- limits ----
out=$($HOSTILE "$PORT" "$P/ca.pem" longline 2>&1)
echo "# longline: $out"
check "1 MiB request line: 431" grep -q "status='HTTP/1.1 431" <<<"$out"
check "1 MiB request line: connection closed" grep -q "closed=True" <<<"$out"
out=$($HOSTILE "$PORT" "$P/ca.pem" manyfields 2>&1)
echo "# manyfields: $out"
check "1,000 header fields: 431" grep -q "status='HTTP/1.1 431" <<<"$out"
check "1,000 header fields: connection closed" grep -q "closed=True" <<<"$out"
pids=()
for _ in 1 2 3 4 5 6 7 8; do $HOSTILE "$PORT" "$P/ca.pem" longline >/dev/null 2>&1 & pids+=($!); done
wait "${pids[@]}"
rss=$(rss_kb)
check "server RSS after 10 oversized requests under 64 MB (${rss} kB)" test "$rss" -lt 65536
got=$(curl -sS --max-time 10 --cacert "$P/ca.pem" -o "$T/body" -w '%{http_code}' \
  -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$URL/api/v1/tenants")
check "8 KiB of headers via curl: 431 ($got)" test "$got" = 431
check "431 body is JSON with its code" test "$(jq -r .error "$T/body")" = request_header_fields_too_large

# ---- a refused request's body is not a request ----
out=$($HOSTILE "$PORT" "$P/ca.pem" smuggle "$P/admin.pem" "$P/admin-key.pem" 2>&1)
echo "# smuggle (415): $out"
check "refused (415) request: one answer" grep -q "status='HTTP/1.1 415 .*responses=1 closed=True" <<<"$out"
out=$($HOSTILE "$PORT" "$P/ca.pem" smuggle401 2>&1)
echo "# smuggle (401): $out"
check "refused (401) request: one answer, closed" grep -q "status='HTTP/1.1 401 .*responses=1 closed=True" <<<"$out"
check "the smuggled request never ran" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM tenants WHERE name = 'smuggled'")" = 0
sleep 0.1
req admin GET '/admin/audit?limit=1000' >/dev/null
check "no audit entry of a smuggled request" test "$(jq '[.entries[] | select(.detail | tostring | contains("smuggled"))] | length' "$T/body")" = 0
check "the 431 refusals are audited as unauthenticated" \
  test "$(jq '[.entries[] | select(.principal == "unauthenticated" and (.detail | startswith("HTTP 431")))] | length' "$T/body")" -ge 3

# ---- 2,000 idle and dribbling connections ----
rm -f "$T/flood.ready"
$HOSTILE "$PORT" "$P/ca.pem" flood 1500 500 "$T/flood.ready" >"$T/flood.out" 2>&1 &
FLOOD=$!
EXTRA_PIDS+=("$FLOOD")
for _ in $(seq 1 600); do [ -s "$T/flood.ready" ] && break; kill -0 "$FLOOD" 2>/dev/null || break; sleep 0.05; done
check "2,000 hostile connections open ($(cat "$T/flood.ready" 2>/dev/null))" test -s "$T/flood.ready"
[ -s "$T/flood.ready" ] || sed 's/^/# /' "$T/flood.out" | tail -5
conns=$(ls "/proc/$SERVER_PID/fd" | wc -l)
echo "# server descriptors: $conns"
worst=0
for i in 1 2 3 4 5; do
  ms=$(curl -sS --max-time 5 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
    -o "$T/body" -w '%{http_code} %{time_total}' "$URL/api/v1/tenants" | awk '{ if ($1 != 200) print 99999; else printf "%d\n", $2 * 1000 }')
  [ "$ms" -gt "$worst" ] && worst=$ms
done
check "fabric-admin requests during the flood complete within 500 ms (worst ${worst} ms)" test "$worst" -lt 500
expect_status "a write during the flood" 201 admin POST /tenants '{"name":"during-flood"}'
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null
rss=$(rss_kb)
echo "# server RSS after the flood: ${rss} kB"
check "server alive" kill -0 "$SERVER_PID"
wait "$DRIBBLE" "$IDLETCP"
after() { sed -n 's/.*closed=True after=\([0-9]*\)\..*/\1/p' "$1"; }
echo "# dribble: $(cat "$T/dribble.out"); idle TCP: $(cat "$T/idletcp.out")"
d=$(after "$T/dribble.out"); i=$(after "$T/idletcp.out")
check "headers dribbled a byte a second: closed at the 10 s header deadline (${d:-never} s)" \
  test -n "$d" -a "${d:-0}" -ge 9 -a "${d:-99}" -le 13
check "a TCP connection that never starts TLS: closed at the 10 s handshake deadline (${i:-never} s)" \
  test -n "$i" -a "${i:-0}" -ge 9 -a "${i:-99}" -le 13
stop_server

# ---- the connection cap closes the connection idle the longest ----
start_server "$T/db2" --max-connections 40 || { echo "Bail out! capped server did not start"; exit 1; }
rm -f "$T/cap.ready"
$HOSTILE "$PORT" "$P/ca.pem" flood 60 0 "$T/cap.ready" >"$T/cap.out" 2>&1 &
CAP=$!
EXTRA_PIDS+=("$CAP")
for _ in $(seq 1 200); do [ -s "$T/cap.ready" ] && break; sleep 0.05; done
sleep 0.3
socks=$(ls -l "/proc/$SERVER_PID/fd" | grep -c socket)
check "60 idle connections against --max-connections 40: at most 40 kept (+ listener: $socks)" \
  test "$socks" -le 41
start=$(date +%s%N)
expect_status "a fabric-admin request at the cap is served" 200 admin GET /tenants
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "at the cap, answered within 500 ms (${ms} ms)" test "$ms" -lt 500
kill "$CAP" 2>/dev/null; wait "$CAP" 2>/dev/null
check "capped server alive" kill -0 "$SERVER_PID"
finish
