#!/usr/bin/env bash
# The TSA key in a PKCS#11 token (issue 15): a private SoftHSMv2 token, the grafos-ca TSA key
# moved into it and its PEM deleted; `serve --tsa-key pkcs11:...` signs replies that
# `openssl ts -verify` accepts. A wrong PIN is one clear error, no database, no socket.
. "$(dirname "$0")/lib.sh"
make_pki
P=$T/pki
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=135792
gca tsa -- --role timestamp-authority --name tsa-hsm
check "grafos-ca issued the TSA certificate" test -s "$P/tsa.pem"
SOFTHSM_TEST_PIN=$PIN sh "$GRAFOS_SOURCE_ROOT/tests/support/softhsm-token.sh" "$T/tok" tsa \
  >"$T/tok.env" 2>"$T/tok.err"
check "private SoftHSMv2 token created" test -s "$T/tok.env"
export SOFTHSM2_CONF=$T/tok/softhsm2.conf
"$GRAFOS_P11_IMPORT_KEY" "$MODULE" tsa tsa-key 01 "$P/tsa-key.pem" "$T/tok/tsa.pin" >"$T/import.out" 2>&1
check "TSA key imported into the token" grep -q 'imported' "$T/import.out"
rm -f "$P/tsa-key.pem"
URI="pkcs11:token=tsa;object=tsa-key?module-path=$MODULE&pin-source=file:$T/tok/tsa.pin"

# A TSA certificate issued with the CA key in the token as well.
"$GRAFOS_P11_IMPORT_KEY" "$MODULE" tsa ca-key 02 "$P/ca-key.pem" "$T/tok/tsa.pin" >"$T/import-ca.out" 2>&1
mkdir -p "$T/tsa2"
"$GCA" issue-cert --ca-cert "$P/ca.pem" \
  --ca-key "pkcs11:token=tsa;object=ca-key?module-path=$MODULE&pin-source=file:$T/tok/tsa.pin" \
  --role timestamp-authority --name tsa-2 --out "$T/tsa2" >"$T/tsa2.out" 2>&1
check "grafos-ca issues a TSA certificate with the CA key in SoftHSM" test -s "$T/tsa2/client.pem"
openssl x509 -in "$T/tsa2/client.pem" -noout -text >"$T/tsa2.txt" 2>&1
check "... EKU timeStamping, critical" bash -c \
  "grep -A1 'X509v3 Extended Key Usage: critical' '$T/tsa2.txt' | grep -q 'Time Stamping'"
check "... accepted by openssl verify -purpose timestampsign" \
  openssl verify -CAfile "$P/ca.pem" -purpose timestampsign "$T/tsa2/client.pem"

start_server "$T/db" --tsa-cert "$P/tsa.pem" --tsa-key "$URI"
check "serve starts with --tsa-key pkcs11: URI" kill -0 "$SERVER_PID"
head -c 300 /dev/urandom >"$T/data"
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q.tsq" 2>/dev/null
for i in 1 2 3; do
  code=$(curl -sS --max-time 10 --cacert "$P/ca.pem" --cert "$P/admin.pem" --key "$P/admin-key.pem" \
    -H 'Content-Type: application/timestamp-query' --data-binary @"$T/q.tsq" -o "$T/r$i.tsr" \
    -w '%{http_code}' "$URL/api/v1/timestamp" 2>"$T/curl.err")
  check "timestamp $i signed by the token key (200)" test "$code" = 200
  openssl ts -verify -in "$T/r$i.tsr" -queryfile "$T/q.tsq" -CAfile "$P/ca.pem" \
    -untrusted "$P/tsa.pem" >"$T/v$i.out" 2>&1
  check "openssl ts -verify accepts reply $i" grep -q 'Verification: OK' "$T/v$i.out"
done
check "the PIN is not in the server log" bash -c "! grep -q '$PIN' '$SERVER_LOG'"
stop_server

printf '999999\n' >"$T/wrong.pin"; chmod 600 "$T/wrong.pin"
rm -f "$T/db2"
if "$REGISTRY" serve --listen 127.0.0.1:0 --db "$T/db2" --cert "$P/server.pem" \
  --key "$P/server-key.pem" --client-ca "$P/ca.pem" --tsa-cert "$P/tsa.pem" \
  --tsa-key "pkcs11:token=tsa;object=tsa-key?module-path=$MODULE&pin-source=file:$T/wrong.pin" \
  >"$T/wrong.out" 2>&1; then
  not_ok "a wrong TSA PIN is refused"
else
  check "a wrong TSA PIN is refused with CKR_PIN_INCORRECT, no database" \
    bash -c "grep -q 'CKR_PIN_INCORRECT' '$T/wrong.out' && [ ! -e '$T/db2' ]"
fi
finish
