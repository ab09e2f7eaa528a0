#!/usr/bin/env bash
# TLS policy: TLS 1.3 and TLS 1.2 with ECDHE+AEAD suites only; CBC, static-RSA, TLS 1.1 and CCM
# refused. Checked with openssl s_client sending a real request.
. "$(dirname "$0")/lib.sh"
make_pki
start_server "$T/db" || { echo "Bail out! server did not start"; exit 1; }
P=$T/pki
sclient() { # args... ; sends one request, prints the transcript
  printf 'GET /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$P/ca.pem" \
      -cert "$P/admin.pem" -key "$P/admin-key.pem" -verify_return_error -ign_eof "$@" 2>&1
}
accepts() { local d=$1; shift; if sclient "$@" >"$T/s.out" && grep -q 'HTTP/1.1 200' "$T/s.out"; then ok "$d"; else not_ok "$d"; head -c 600 "$T/s.out" | sed 's/^/# /'; fi; }
refuses() { local d=$1; shift; if sclient "$@" >"$T/s.out" && grep -q 'HTTP/1.1' "$T/s.out"; then not_ok "$d"; grep -E 'Protocol|Cipher' "$T/s.out" | head -3 | sed 's/^/# /'; else ok "$d"; fi; }

accepts "TLS 1.3 (default suites)" -tls1_3
check "TLS 1.3 negotiated" grep -q 'TLSv1.3' "$T/s.out"
for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
  accepts "TLS 1.3 $s" -tls1_3 -ciphersuites "$s"
done
refuses "TLS 1.3 CCM suite refused" -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
  accepts "TLS 1.2 $c" -tls1_2 -cipher "$c"
done
for c in ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384 ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA AES128-GCM-SHA256 AES256-SHA DHE-RSA-AES128-GCM-SHA256 'aNULL:eNULL:@SECLEVEL=0'; do
  refuses "TLS 1.2 $c refused" -tls1_2 -cipher "$c"
done
refuses "TLS 1.1 refused" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
refuses "TLS 1.0 refused" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
# renegotiation is off
printf 'R\n' | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$P/ca.pem" -cert "$P/admin.pem" \
  -key "$P/admin-key.pem" -tls1_2 >"$T/r.out" 2>&1
check "secure renegotiation not offered" grep -qE 'Secure Renegotiation IS NOT supported|renegotiation' "$T/r.out"
# plain HTTP on the TLS port gets no HTTP answer
out=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/api/v1/tenants" -o /dev/null -w '%{http_code}' || true)
check "plain HTTP is not served" test "$out" = 000
# No HTTP compression even when asked for (BREACH), and the security headers on every answer.
for path in /api/v1/tenants /nonexistent; do
  curl -sS --max-time 10 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
    -H 'Accept-Encoding: br, gzip, deflate' -D "$T/h.out" -o "$T/b.out" "https://127.0.0.1:$PORT$path"
  check "$path: not compressed despite Accept-Encoding: br, gzip" bash -c "! grep -qi '^Content-Encoding' '$T/h.out' && jq -e . '$T/b.out'"
  check "$path: Content-Type application/json; charset=utf-8" grep -qi '^Content-Type: application/json; charset=utf-8' "$T/h.out"
  for h in 'Strict-Transport-Security: max-age=31536000' 'X-Content-Type-Options: nosniff' \
    'Cache-Control: no-store' "Content-Security-Policy: default-src 'none'" 'X-Frame-Options: DENY'; do
    check "$path: header $h" grep -qiF "$h" "$T/h.out"
  done
done
check "server alive" kill -0 "$SERVER_PID"
finish
