#!/usr/bin/env bash
# grafos-admin timestamp (issue 15): a signed provenance bundle timestamped by our TSA
# (grafos-registry serve --tsa-cert, over mTLS) and by an independent one (`openssl ts -reply`
# behind a loopback HTTP wrapper, its own CA, --tsa-ca); the stored tokens verify with
# `openssl ts -verify` against the bundle's signature. Refusals write nothing.
. "$(dirname "$0")/lib.sh"
ADMIN=${GRAFOS_ADMIN:?GRAFOS_ADMIN must point at grafos-admin}
make_pki
P=$T/pki
gca tsa -- --role timestamp-authority --name tsa-1
gca signer -- --role provenance-signer --pipeline ami-bake

# ---- a signed bundle ----
mkdir -p "$T/repo"
git -C "$T/repo" init -q
GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example \
  git -C "$T/repo" commit -q --allow-empty -m init
head -c 4096 /dev/urandom >"$T/bin1"
"$GCA" image-provenance build --image-kind aws-ami --image-name img --repo "$T/repo" \
  --binary "$T/bin1" --output "$T/record.json" >/dev/null 2>"$T/build.err"
"$GCA" image-provenance sign --input "$T/record.json" --sign-key "$P/signer-key.pem" \
  --sign-cert "$P/signer.pem" --output "$T/bundle.json" >/dev/null 2>"$T/sign.err"
check "a signed bundle to timestamp" test -s "$T/bundle.json"
# The imprint: SHA-256 of the DSSE signature bytes (Sigstore's rule).
jq -r '.dsseEnvelope.signatures[0].sig' "$T/bundle.json" | base64 -d >"$T/sig.bin"

tokens() { jq -r '.verificationMaterial.timestampVerificationData.rfc3161Timestamps // [] | length' "$1"; }
token_der() { # BUNDLE INDEX OUT
  jq -r ".verificationMaterial.timestampVerificationData.rfc3161Timestamps[$2].signedTimestamp" "$1" |
    base64 -d >"$3"
}

# ---- our TSA, over mTLS ----
start_server "$T/db" --tsa-cert "$P/tsa.pem" --tsa-key "$P/tsa-key.pem"
TSA_URL=$URL/api/v1/timestamp
adm() { "$ADMIN" timestamp --tsa "$TSA_URL" --ca "$P/ca.pem" --cert "$P/admin.pem" \
  --key "$P/admin-key.pem" "$@"; }
cp "$T/bundle.json" "$T/b1.json"
adm --input "$T/b1.json" --output "$T/b1.ts.json" >"$T/a1.out" 2>&1
check "grafos-admin timestamp with our TSA (exit 0)" test $? = 0 -a -s "$T/b1.ts.json"
check "it says what it stored" grep -q 'timestamped .*genTime .*serial' "$T/a1.out"
check "--input is unchanged with --output" cmp -s "$T/b1.json" "$T/bundle.json"
check "the bundle holds one rfc3161 timestamp" test "$(tokens "$T/b1.ts.json")" = 1
token_der "$T/b1.ts.json" 0 "$T/tok1.der"
openssl ts -verify -in "$T/tok1.der" -data "$T/sig.bin" -CAfile "$P/ca.pem" \
  >"$T/v1.out" 2>&1
check "openssl ts -verify accepts the stored token over the signature bytes" \
  grep -q 'Verification: OK' "$T/v1.out"
check "the rest of the bundle is unchanged" bash -c \
  "diff <(jq -S 'del(.verificationMaterial.timestampVerificationData)' '$T/bundle.json') \
        <(jq -S 'del(.verificationMaterial.timestampVerificationData)' '$T/b1.ts.json')"

"$GCA" image-provenance verify --input "$T/b1.ts.json" --ca "$P/ca.pem" >"$T/verify1.out" 2>&1
check "image-provenance verify accepts the bundle our TSA timestamped" test $? = 0
cp "$T/bundle.json" "$T/inplace.json"
adm --input "$T/inplace.json" >/dev/null 2>&1
check "without --output the input is replaced (one token)" test "$(tokens "$T/inplace.json")" = 1

# Refusals: nothing written.
adm --input "$T/bundle.json" --output "$T/b1.ts.json" >"$T/exists.out" 2>&1
rc=$?
check "an existing --output is refused (exit 4, names --force)" \
  bash -c "[ $rc = 4 ] && grep -q -- '--force' '$T/exists.out'"
check "... and left as it was" test "$(tokens "$T/b1.ts.json")" = 1
cp "$T/bundle.json" "$T/untrusted.json"
adm --input "$T/untrusted.json" --tsa-ca "$P/foreign-ca.pem" >"$T/untrusted.out" 2>&1
rc=$?
check "a TSA that does not chain to --tsa-ca is refused (exit 1)" test "$rc" = 1
check "... naming the verification" grep -q 'does not verify' "$T/untrusted.out"
check "... and the bundle is untouched" cmp -s "$T/untrusted.json" "$T/bundle.json"
echo '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}' >"$T/nosig.json"
adm --input "$T/nosig.json" --output "$T/nosig.out.json" >"$T/nosig.out" 2>&1
rc=$?
check "a bundle without a DSSE signature is refused (exit 3), nothing written" \
  bash -c "[ $rc = 3 ] && [ ! -e '$T/nosig.out.json' ]"
"$ADMIN" timestamp --tsa "$TSA_URL" --ca "$P/ca.pem" --input "$T/bundle.json" \
  --output "$T/nocert.json" >"$T/nocert.out" 2>&1
rc=$?
check "our TSA without a client certificate: refused, nothing written (exit $rc)" \
  bash -c "[ $rc != 0 ] && [ ! -e '$T/nocert.json' ]"
"$ADMIN" timestamp --tsa "ftp://127.0.0.1/x" --ca "$P/ca.pem" --input "$T/bundle.json" \
  --output "$T/ftp.json" >"$T/ftp.out" 2>&1
check "an ftp:// TSA URL is a usage error (exit 2)" test $? = 2
"$ADMIN" timestamp --tsa "$URL/api/v1/tenants" --ca "$P/ca.pem" --cert "$P/admin.pem" \
  --key "$P/admin-key.pem" --input "$T/bundle.json" --output "$T/notsa.json" >"$T/notsa.out" 2>&1
rc=$?
check "an endpoint that is not a TSA is refused (exit $rc), nothing written" \
  bash -c "[ $rc != 0 ] && [ ! -e '$T/notsa.json' ]"
stop_server

# ---- an independent TSA: openssl ts -reply behind a loopback HTTP wrapper ----
O=$T/ots
mkdir -p "$O"
openssl ecparam -name prime256v1 -genkey -noout -out "$O/root-key.pem" 2>/dev/null
openssl req -new -x509 -key "$O/root-key.pem" -subj "/CN=Independent TSA Root" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$O/root.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$O/tsa-key.pem" 2>/dev/null
openssl req -new -key "$O/tsa-key.pem" -subj "/CN=openssl ts TSA" -out "$O/tsa.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' >"$O/tsa.ext"
openssl x509 -req -in "$O/tsa.csr" -CA "$O/root.pem" -CAkey "$O/root-key.pem" -CAcreateserial \
  -days 10 -sha256 -extfile "$O/tsa.ext" -out "$O/tsa.pem" 2>/dev/null
echo 01 >"$O/serial"
cat >"$O/ts.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $O/serial
crypto_device = builtin
signer_cert = $O/tsa.pem
signer_key = $O/tsa-key.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
python3 "$(dirname "$0")/openssl_tsa.py" "$O/ts.cnf" "$O/port" >"$O/py.log" 2>&1 &
PY_PID=$!
EXTRA_PIDS+=("$PY_PID")
for _ in $(seq 1 100); do [ -s "$O/port" ] && break; sleep 0.05; done
check "the openssl ts TSA listens" test -s "$O/port"
OTSA=http://127.0.0.1:$(cat "$O/port")/
"$ADMIN" timestamp --tsa "$OTSA" --tsa-ca "$O/root.pem" --input "$T/b1.ts.json" \
  --output "$T/b2.json" >"$T/a2.out" 2>&1
check "grafos-admin timestamp with the openssl ts TSA over http:// and --tsa-ca (exit 0)" \
  test $? = 0 -a -s "$T/b2.json"
check "the bundle now holds two timestamps (ours and openssl's)" test "$(tokens "$T/b2.json")" = 2
token_der "$T/b2.json" 1 "$T/tok2.der"
openssl ts -verify -in "$T/tok2.der" -data "$T/sig.bin" -CAfile "$O/root.pem" \
  >"$T/v2.out" 2>&1
check "the openssl TSA's token verifies over the signature bytes" grep -q 'Verification: OK' "$T/v2.out"
"$ADMIN" timestamp --tsa "$OTSA" --tsa-ca "$O/root.pem" --input "$T/bundle.json" \
  --output "$T/b4.json" >"$T/a4.out" 2>&1
"$GCA" image-provenance verify --input "$T/b4.json" --ca "$P/ca.pem" --tsa-ca "$O/root.pem" \
  >"$T/verify4.out" 2>&1
check "image-provenance verify --tsa-ca accepts the bundle the openssl TSA timestamped" test $? = 0
"$ADMIN" timestamp --tsa "$OTSA" --ca "$P/ca.pem" --input "$T/bundle.json" \
  --output "$T/b3.json" >"$T/a3.out" 2>&1
rc=$?
check "the openssl TSA against the fabric CA is refused (exit 1), nothing written" \
  bash -c "[ $rc = 1 ] && [ ! -e '$T/b3.json' ]"

# A TSA that rejects the query (this one accepts SHA-384 imprints only): exit 3, naming the
# status and the failure info, nothing written.
sed 's/^digests = sha256$/digests = sha384/' "$O/ts.cnf" >"$O/ts384.cnf"
python3 "$(dirname "$0")/openssl_tsa.py" "$O/ts384.cnf" "$O/port384" >"$O/py384.log" 2>&1 &
EXTRA_PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$O/port384" ] && break; sleep 0.05; done
"$ADMIN" timestamp --tsa "http://127.0.0.1:$(cat "$O/port384")/" --tsa-ca "$O/root.pem" \
  --input "$T/bundle.json" --output "$T/b5.json" >"$T/a5.out" 2>&1
rc=$?
check "a TSA rejection is exit 3, nothing written" bash -c "[ $rc = 3 ] && [ ! -e '$T/b5.json' ]"
check "... naming the status and badAlg" grep -q 'refused the request: rejection.*badAlg' "$T/a5.out"
# Hints name the flag that answers the error, and only that one.
env -u GRAFOS_CA "$ADMIN" timestamp --tsa "$TSA_URL" --input "$T/bundle.json" --output "$T/b6.json" \
  >"$T/a6.out" 2>&1  # GRAFOS_CA is also --ca's variable
rc=$?
check "no trust anchor is a usage error naming --ca and --tsa-ca (exit 2), nothing written" \
  bash -c "[ $rc = 2 ] && grep -q 'give --ca .* or --tsa-ca' '$T/a6.out' && [ ! -e '$T/b6.json' ]"
"$ADMIN" timestamp --tsa ftp://tsa.example/ --ca "$P/ca.pem" --input "$T/bundle.json" \
  --output "$T/b7.json" >"$T/a7.out" 2>&1
check "an ftp:// TSA URL is refused naming the schemes, with no trust-anchor hint" \
  bash -c "grep -q 'use http:// or https://' '$T/a7.out' && ! grep -q -- '--tsa-ca' '$T/a7.out' && [ ! -e '$T/b7.json' ]"
finish
