#!/usr/bin/env bash
# Interop: a real mTLS handshake on loopback with certificates issued by grafos-ca.
# `openssl s_server -Verify 1 -verify_return_error -CAfile ca.pem` with an issued server
# certificate (TLS 1.3 and TLS 1.2) must accept curl and openssl s_client presenting issued client
# certificates, and refuse a client certificate from a different CA and a connection without a
# client certificate. Under TLS 1.3 the server's refusal arrives after the client's handshake has
# completed, so every client sends a request and the test checks the answer.
#
# Usage: mtls_test.sh file|softhsm   (TAP on stdout; run by meson test)
. "$(dirname "$0")/lib.sh"

backend=${1:?backend file|softhsm}

case "$backend" in
  file) ca_init "$WORK/ca" >"$WORK/init.log" 2>&1 || bail "init-ca: $(cat "$WORK/init.log")" ;;
  softhsm)
    softhsm_token fabric-ca || bail "cannot create a SoftHSMv2 token"
    ca_init "$WORK/ca" "$(softhsm_uri fabric-ca ca-key)" >"$WORK/init.log" 2>&1 ||
      bail "init-ca --key pkcs11: $(cat "$WORK/init.log")"
    ;;
  *) bail "unknown backend $backend" ;;
esac
CA="$WORK/ca/ca.pem"

issue_server "$WORK/ca" "$CA_KEY" "$WORK/server" "127.0.0.1,localhost" >"$WORK/issue.log" 2>&1 ||
  bail "issue-server-cert: $(cat "$WORK/issue.log")"
issue_client "$WORK/ca" "$CA_KEY" "$WORK/tenant" tenant --tenant acme >>"$WORK/issue.log" 2>&1 ||
  bail "issue-cert --role tenant: $(cat "$WORK/issue.log")"
issue_client "$WORK/ca" "$CA_KEY" "$WORK/cell" cell --provider lab --cell-id 7 \
  >>"$WORK/issue.log" 2>&1 || bail "issue-cert --role cell: $(cat "$WORK/issue.log")"
issue_client "$WORK/ca" "$CA_KEY" "$WORK/admin" fabric-admin >>"$WORK/issue.log" 2>&1 ||
  bail "issue-cert --role fabric-admin: $(cat "$WORK/issue.log")"
# The same role from a different CA (file key): must be refused by the server.
"$GRAFOS_CA" init-ca --out "$WORK/other-ca" --cn "Other CA" >>"$WORK/issue.log" 2>&1 ||
  bail "init-ca (other CA): $(cat "$WORK/issue.log")"
issue_client "$WORK/other-ca" "$WORK/other-ca/ca-key.pem" "$WORK/stranger" tenant --tenant acme \
  >>"$WORK/issue.log" 2>&1 || bail "issue-cert from the other CA: $(cat "$WORK/issue.log")"

SERVER_PID=""
PORT=""
# start_server TLSFLAG: starts s_server on a random free high port; sets SERVER_PID and PORT.
start_server() {
  local tls=$1 attempt log="$WORK/s_server.log"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    : >"$log"
    openssl s_server -accept "127.0.0.1:$PORT" "$tls" -www \
      -cert "$WORK/server/server.pem" -key "$WORK/server/server-key.pem" \
      -CAfile "$CA" -Verify 1 -verify_return_error </dev/null >"$log" 2>&1 &
    SERVER_PID=$!
    BG_PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 100); do
      grep -q '^ACCEPT' "$log" && return 0
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop_server
    grep -qi 'in use' "$log" || break # not a port collision: do not retry
  done
  echo "# s_server did not start: $(cat "$log")"
  return 1
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}

# curl_get TLS_OPTS... -- CLIENT_ARGS...: GET / over mTLS; prints the body, exit status of curl.
curl_get() {
  curl -sS --max-time 10 --cacert "$CA" "$@" "https://127.0.0.1:$PORT/"
}

# s_client_get TLSFLAG CLIENT_ARGS...: sends "GET /" with s_client and prints everything it got.
s_client_get() {
  local tls=$1
  shift
  printf 'GET / HTTP/1.0\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$tls" \
      -CAfile "$CA" -verify_return_error -verify_hostname localhost -ign_eof "$@" 2>&1
}

readonly OK_LINE='HTTP/1\.0 200 ok'

for version in 1.3 1.2; do
  tls_flag="-tls1_${version#1.}"
  curl_tls=(--tlsv"$version" --tls-max "$version")
  if ! start_server "$tls_flag"; then
    tap_result 1 "TLS $version: s_server starts with the issued server certificate"
    continue
  fi
  tap_result 0 "TLS $version: s_server starts with the issued server certificate (port $PORT)"

  for who in tenant cell admin; do
    out=$(curl_get "${curl_tls[@]}" --cert "$WORK/$who/client.pem" \
      --key "$WORK/$who/client-key.pem" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && grep -q 's_server' <<<"$out"; then
      tap_result 0 "TLS $version: curl with the issued $who certificate is accepted"
    else
      tap_result 1 "TLS $version: curl with the issued $who certificate is accepted" \
        "curl exit $rc: $out"$'\n'"server: $(tail -5 "$WORK/s_server.log")"
    fi
  done

  out=$(s_client_get "$tls_flag" -cert "$WORK/tenant/client.pem" \
    -key "$WORK/tenant/client-key.pem")
  expect_match "TLS $version: s_client with the issued tenant certificate gets 200" "$OK_LINE" "$out"
  expect_match "TLS $version: s_client verified the issued server certificate" \
    'Verify return code: 0 \(ok\)' "$out"
  expect_match "TLS $version: negotiated TLSv$version" "Protocol *: TLSv$version\$|^New, TLSv$version," \
    "$out"

  # Refusals: another CA's certificate, and no certificate at all.
  out=$(curl_get "${curl_tls[@]}" --cert "$WORK/stranger/client.pem" \
    --key "$WORK/stranger/client-key.pem" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && ! grep -q 's_server' <<<"$out"; then
    tap_result 0 "TLS $version: curl with another CA's certificate is refused (curl exit $rc)"
  else
    tap_result 1 "TLS $version: curl with another CA's certificate is refused" "curl exit $rc: $out"
  fi
  out=$(curl_get "${curl_tls[@]}" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && ! grep -q 's_server' <<<"$out"; then
    tap_result 0 "TLS $version: curl without a client certificate is refused (curl exit $rc)"
  else
    tap_result 1 "TLS $version: curl without a client certificate is refused" "curl exit $rc: $out"
  fi

  out=$(s_client_get "$tls_flag" -cert "$WORK/stranger/client.pem" \
    -key "$WORK/stranger/client-key.pem")
  if ! grep -Eq "$OK_LINE" <<<"$out" &&
    grep -Eq 'alert (unknown ca|bad certificate|certificate unknown|decrypt error)' <<<"$out"; then
    tap_result 0 "TLS $version: s_client with another CA's certificate gets an alert, no answer"
  else
    tap_result 1 "TLS $version: s_client with another CA's certificate gets an alert, no answer" "$out"
  fi
  out=$(s_client_get "$tls_flag")
  if ! grep -Eq "$OK_LINE" <<<"$out" &&
    grep -Eq 'alert (certificate required|handshake failure)' <<<"$out"; then
    tap_result 0 "TLS $version: s_client without a certificate gets an alert, no answer"
  else
    tap_result 1 "TLS $version: s_client without a certificate gets an alert, no answer" "$out"
  fi

  # The server is still serving after the refusals (each was a per-connection failure).
  out=$(curl_get "${curl_tls[@]}" --cert "$WORK/tenant/client.pem" \
    --key "$WORK/tenant/client-key.pem" 2>&1)
  expect_match "TLS $version: server still accepts the tenant after the refusals" 's_server' "$out"

  stop_server
  if kill -0 "${BG_PIDS[-1]}" 2>/dev/null; then
    tap_result 1 "TLS $version: s_server stopped"
  else
    tap_result 0 "TLS $version: s_server stopped"
  fi
done

tap_finish
