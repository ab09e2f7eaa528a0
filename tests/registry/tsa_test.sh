#!/usr/bin/env bash
# The RFC 3161 TSA of grafos-registry (issue 15): a TSA certificate from grafos-ca
# (--role timestamp-authority), `serve --tsa-cert/--tsa-key`, queries made by `openssl ts -query`
# and sent with curl over mTLS, replies checked by `openssl ts -verify` and `openssl ts -reply
# -text`. Refusals (content type, garbage DER, trailing bytes, SHA-1 imprint, oversized bodies, no
# client certificate, bad --tsa-* flags) and serials that never repeat across a restart.
. "$(dirname "$0")/lib.sh"
make_pki
P=$T/pki

# ---- the TSA certificate ----
gca tsa -- --role timestamp-authority --name tsa-1
check "grafos-ca issues a timestamp-authority certificate" test -s "$P/tsa.pem"
openssl x509 -in "$P/tsa.pem" -noout -text >"$T/tsa.txt"
check "its EKU is critical" grep -A1 'X509v3 Extended Key Usage: critical' "$T/tsa.txt"
check "its EKU is timeStamping alone" bash -c \
  "grep -A1 'X509v3 Extended Key Usage' '$T/tsa.txt' | tail -1 | grep -qx ' *Time Stamping'"
check "its SAN is urn:fabricbios:timestamp-authority:tsa-1" \
  grep -q 'URI:urn:fabricbios:timestamp-authority:tsa-1$' "$T/tsa.txt"
check "its CN is 'timestamp-authority tsa-1'" \
  grep -q 'Subject: CN *= *timestamp-authority tsa-1' "$T/tsa.txt"
check "openssl verify -purpose timestampsign accepts it" \
  openssl verify -CAfile "$P/ca.pem" -purpose timestampsign "$P/tsa.pem"
mkdir -p "$T/badname"
if "$GCA" issue-cert --ca-cert "$P/ca.pem" --ca-key "$P/ca-key.pem" --role timestamp-authority \
  --name 'bad/name' --out "$T/badname" >"$T/badname.out" 2>&1; then
  not_ok "a TSA name outside the grammar is refused"
else
  check "a TSA name outside the grammar is refused, nothing written" \
    bash -c "grep -q 'timestamp authority name' '$T/badname.out' && [ -z \"\$(ls -A '$T/badname')\" ]"
fi
if "$GCA" issue-cert --ca-cert "$P/ca.pem" --ca-key "$P/ca-key.pem" --role timestamp-authority \
  --out "$T/badname" >"$T/noname.out" 2>&1; then
  not_ok "--role timestamp-authority without --name is refused"
else
  check "--role timestamp-authority without --name is refused" grep -q -- '--name' "$T/noname.out"
fi

# ---- serve refusals: nothing is opened ----
serve_refused() { # DESC PATTERN serve-args...
  local d=$1 pat=$2; shift 2
  rm -f "$T/refused.db"
  if "$REGISTRY" serve --listen 127.0.0.1:0 --db "$T/refused.db" --cert "$P/server.pem" \
    --key "$P/server-key.pem" --client-ca "$P/ca.pem" "$@" >"$T/refused.out" 2>&1; then
    not_ok "$d: serve started"
  else
    check "$d" bash -c "grep -q -- '$pat' '$T/refused.out' && [ ! -e '$T/refused.db' ]"
  fi
}
serve_refused "--tsa-cert without --tsa-key is refused" "go together" --tsa-cert "$P/tsa.pem"
serve_refused "a client certificate as --tsa-cert is refused" "not a time-stamping certificate" \
  --tsa-cert "$P/admin.pem" --tsa-key "$P/admin-key.pem"
serve_refused "a --tsa-key that is not the TSA's is refused" "TSA key" \
  --tsa-cert "$P/tsa.pem" --tsa-key "$P/admin-key.pem"
serve_refused "a missing --tsa-cert file is refused" "tsa-cert" \
  --tsa-cert "$T/nope.pem" --tsa-key "$P/tsa-key.pem"

# ---- serving ----
start_server "$T/db" --tsa-cert "$P/tsa.pem" --tsa-key "$P/tsa-key.pem"
check "serve starts with --tsa-cert/--tsa-key" kill -0 "$SERVER_PID"

head -c 1000 /dev/urandom >"$T/data"
# ts WHO QUERYFILE [CONTENT-TYPE] -> HTTP status; reply in $T/reply, headers in $T/hdr
ts() {
  local who=$1 q=$2 ct=${3-application/timestamp-query}
  local args=(-sS --max-time 10 --cacert "$P/ca.pem" -o "$T/reply" -D "$T/hdr" -w '%{http_code}'
    -H "Content-Type: $ct" --data-binary @"$q")
  [ "$who" != none ] && args+=(--cert "$P/$who.pem" --key "$P/$who-key.pem")
  curl "${args[@]}" "$URL/api/v1/timestamp" 2>"$T/curl.err" || true
}
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q1.tsq" 2>/dev/null
check "query made by openssl ts -query" test -s "$T/q1.tsq"
check "a fabric-admin gets 200" test "$(ts admin "$T/q1.tsq")" = 200
cp "$T/reply" "$T/r1.tsr"
check "the reply is application/timestamp-reply" \
  grep -qi '^content-type: application/timestamp-reply' "$T/hdr"
openssl ts -verify -in "$T/r1.tsr" -queryfile "$T/q1.tsq" -CAfile "$P/ca.pem" \
  -untrusted "$P/tsa.pem" >"$T/v1.out" 2>&1
check "openssl ts -verify accepts the reply (-CAfile ca -untrusted tsa.pem)" grep -q 'Verification: OK' "$T/v1.out"
openssl ts -verify -in "$T/r1.tsr" -data "$T/data" -CAfile "$P/ca.pem" >"$T/v1d.out" 2>&1
check "with certReq the TSA certificate is in the token (verifies without -untrusted)" \
  grep -q 'Verification: OK' "$T/v1d.out"
openssl ts -reply -in "$T/r1.tsr" -text >"$T/r1.txt" 2>/dev/null
openssl ts -query -in "$T/q1.tsq" -text >"$T/q1.txt" 2>/dev/null
check "status granted" grep -q 'Status: Granted' "$T/r1.txt"
check "the policy is the project's TSA policy OID" \
  grep -q 'Policy OID: 2.25.22471549674437839168046222397920535751.3.1' "$T/r1.txt"
check "the accuracy is stated (1 second)" grep -q 'Accuracy: 0x01 seconds' "$T/r1.txt"
check "the imprint algorithm is sha256" grep -q 'Hash Algorithm: sha256' "$T/r1.txt"
qn=$(grep '^Nonce:' "$T/q1.txt" | awk '{print $2}')
rn=$(grep '^Nonce:' "$T/r1.txt" | awk '{print $2}')
check "the nonce is echoed ($qn)" test -n "$qn" -a "$qn" = "$rn"
gen=$(sed -n 's/^Time stamp: //p' "$T/r1.txt")
gen_s=$(date -u -d "$gen" +%s 2>/dev/null || echo 0)
check "genTime is the system clock ($gen)" test $(( $(date -u +%s) - gen_s )) -lt 60

openssl ts -query -data "$T/data" -sha256 -no_nonce -out "$T/q2.tsq" 2>/dev/null
req admin POST /tenants '{"name":"acme"}' >/dev/null
check "a tenant may ask too (200)" test "$(ts tenant-acme "$T/q2.tsq")" = 200
cp "$T/reply" "$T/r2.tsr"
openssl ts -verify -in "$T/r2.tsr" -queryfile "$T/q2.tsq" -CAfile "$P/ca.pem" \
  -untrusted "$P/tsa.pem" >"$T/v2.out" 2>&1
check "without certReq the reply verifies with -untrusted tsa.pem" grep -q 'Verification: OK' "$T/v2.out"
openssl ts -verify -in "$T/r2.tsr" -queryfile "$T/q2.tsq" -CAfile "$P/ca.pem" >"$T/v2n.out" 2>&1
check "without certReq the token carries no certificate" bash -c "! grep -q 'Verification: OK' '$T/v2n.out'"
check "a cell may ask too (200)" test "$(ts cell "$T/q2.tsq")" = 200

# ---- refusals ----
openssl ts -query -data "$T/data" -sha1 -cert -out "$T/q-sha1.tsq" 2>/dev/null
check "a SHA-1 imprint gets HTTP 200 with a timestamp reply" test "$(ts admin "$T/q-sha1.tsq")" = 200
openssl ts -reply -in "$T/reply" -text >"$T/sha1.txt" 2>&1
check "... whose status is rejection" grep -q 'Status: Rejected' "$T/sha1.txt"
check "... with failure info badAlg" grep -qi 'unrecognized or unsupported algorithm' "$T/sha1.txt"
openssl ts -query -data "$T/data" -sha512 -out "$T/q-sha512.tsq" 2>/dev/null
ts admin "$T/q-sha512.tsq" >/dev/null
check "a SHA-512 imprint is rejected (badAlg) too" bash -c \
  "openssl ts -reply -in '$T/reply' -text 2>&1 | grep -q 'Status: Rejected'"
openssl ts -query -data "$T/data" -sha256 -tspolicy 1.2.3.4 -out "$T/q-pol.tsq" 2>/dev/null
ts admin "$T/q-pol.tsq" >/dev/null
check "a foreign policy is rejected (unacceptedPolicy)" bash -c \
  "openssl ts -reply -in '$T/reply' -text 2>&1 | grep -qi 'Status: Rejected'"

check "application/json is refused (415)" test "$(ts admin "$T/q1.tsq" application/json)" = 415
check "... with a clear message" grep -q 'application/timestamp-query' "$T/reply"
check "application/timestamp-query; charset=x is accepted" \
  test "$(ts admin "$T/q1.tsq" 'Application/Timestamp-Query; x=1')" = 200
head -c 200 /dev/urandom >"$T/garbage"
check "garbage DER is a 400" test "$(ts admin "$T/garbage")" = 400
check "... saying it is not a TimeStampReq" grep -q 'not a DER-encoded RFC 3161 TimeStampReq' "$T/reply"
printf '\x30\x82\xff\xff' >"$T/trunc"
check "a truncated DER header is a 400" test "$(ts admin "$T/trunc")" = 400
cat "$T/q1.tsq" "$T/q1.tsq" >"$T/double"
check "trailing bytes after the TimeStampReq are a 400" test "$(ts admin "$T/double")" = 400
: >"$T/empty"
check "an empty body is a 400" test "$(ts admin "$T/empty")" = 400
head -c 5000 /dev/zero >"$T/big"
check "a 5000-byte query is refused (413)" test "$(ts admin "$T/big")" = 413
head -c 70000 /dev/zero >"$T/huge"
check "a body over --max-body is refused (413)" test "$(ts admin "$T/huge")" = 413
got=$(ts none "$T/q1.tsq")
check "no client certificate: no timestamp (got $got)" test "$got" != 200
check "the server is still up after the refusals" kill -0 "$SERVER_PID"
req admin GET "/admin/audit?kind=timestamp&limit=1000" >/dev/null
n_audit=$(jq '.entries | length' "$T/body")
# 13 requests reached the endpoint (3 granted, 3 rejected inside a reply, 7 refused by it); the
# ones refused before it (no certificate, body over --max-body) are audited with kind auth.
check "every timestamp request is audited ($n_audit entries of kind timestamp)" test "$n_audit" = 13
check "the audit detail names granted serials" bash -c "jq -r '.entries[].detail' '$T/body' | grep -q 'granted serial'"
check "the audit detail names rejections" bash -c "jq -r '.entries[].detail' '$T/body' | grep -q 'rejection: badAlg'"

# ---- serials never repeat, across a restart ----
serials() { # N -> appends N serials to $T/serials
  for i in $(seq 1 "$1"); do
    ts admin "$T/q1.tsq" >/dev/null
    openssl ts -reply -in "$T/reply" -text 2>/dev/null | sed -n 's/^Serial number: //p' >>"$T/serials"
  done
}
: >"$T/serials"
serials 5
stop_server
start_server "$T/db" --tsa-cert "$P/tsa.pem" --tsa-key "$P/tsa-key.pem"
serials 5
check "10 serials collected across a restart" test "$(wc -l <"$T/serials")" = 10
check "no serial repeats ($(sort "$T/serials" | uniq -d | head -1))" \
  test -z "$(sort "$T/serials" | uniq -d)"
stop_server
check "the serial counter is in the database (next > 2048 after two blocks)" \
  test "$(sql "$T/db" 'SELECT next FROM tsa_serials')" -gt 2048

# Without --tsa-cert the endpoint does not exist.
start_server "$T/db"
check "without --tsa-cert POST /timestamp is a 404" test "$(ts admin "$T/q1.tsq")" = 404
stop_server
finish
