#!/usr/bin/env bash
# Interop: Sigstore's own JavaScript verifier (@sigstore/verify, @sigstore/bundle from npm, installed
# by this test into a cache under the build directory) accepts a bundle signed by grafos-ca and
# timestamped by an RFC 3161 TSA (`openssl ts -reply`, TSA certificate issued from the fabric CA),
# with the trusted root from `grafos-ca image-provenance trusted-root`, and refuses a tampered one,
# an untimestamped one and one checked against another CA. Skipped (exit 77) only when npm or
# node is missing or the npm registry is unreachable.
# Usage: sigstore_test.sh CACHE_DIR
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
# Pinned majors (the versions this test was written against: verify 4.1.3, bundle 5.0.1,
# protobuf-specs 0.5.2; verify 3.1.1 passes too); the cache folder is per pin.
PKGS=(@sigstore/verify@4 @sigstore/bundle@5 @sigstore/protobuf-specs@0.5)
CACHE=${1:?usage: sigstore_test.sh CACHE_DIR}/verify4-bundle5

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "1..0 # SKIP npm/node not installed"
  exit 77
fi
mkdir -p "$CACHE"
if [ ! -d "$CACHE/node_modules/@sigstore/verify" ]; then
  npm_flags=(--cache "$CACHE/.npm" --fetch-retries=1 --fetch-timeout=20000)
  if ! (cd "$CACHE" && timeout 60 npm ping "${npm_flags[@]}" >"$CACHE/npm.log" 2>&1); then
    echo "1..0 # SKIP the npm registry is unreachable: cannot install @sigstore/verify"
    exit 77
  fi
  if ! (cd "$CACHE" && timeout 300 npm install --no-audit --no-fund --silent "${npm_flags[@]}" \
    "${PKGS[@]}" >>"$CACHE/npm.log" 2>&1); then
    tap_result 1 "npm install @sigstore/verify" "$(tail -20 "$CACHE/npm.log")"
    echo "1..$TAP_N"
    exit 1
  fi
fi
export NODE_PATH=$CACHE/node_modules
verify_js() { node "$HERE/sigstore_verify.js" "$@"; }

cd "$WORK" || exit 1
"$GRAFOS_CA" init-ca --out ca --cn "Sigstore Interop Fabric CA" >/dev/null &&
  "$GRAFOS_CA" init-ca --out other --cn "Other CA" >/dev/null &&
  "$GRAFOS_CA" issue-cert --ca-cert ca/ca.pem --ca-key ca/ca-key.pem --out signer \
    --role provenance-signer --pipeline interop >/dev/null ||
  { echo "Bail out! cannot make the PKI with grafos-ca"; exit 1; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa-key.pem \
  -out tsa.csr -subj "/O=grafos/CN=timestamp-authority interop" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=critical,timeStamping" \
  "subjectAltName=URI:urn:fabricbios:timestamp-authority:interop" \
  "authorityKeyIdentifier=keyid:always" "subjectKeyIdentifier=hash" >tsa.ext
openssl x509 -req -in tsa.csr -CA ca/ca.pem -CAkey ca/ca-key.pem -set_serial 0x7a11 -days 30 \
  -sha256 -extfile tsa.ext -out tsa.pem 2>/dev/null
echo 01 >tsa.serial
cat >tsa.cnf <<CNF
[tsa]
default_tsa = t
[t]
serial = $WORK/tsa.serial
crypto_device = builtin
signer_cert = $WORK/tsa.pem
signer_key = $WORK/tsa-key.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.15
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
CNF

printf 'fabricbiosd\n' >fabricbiosd
mkdir repo && (cd repo && git init -q . && echo v1 >f && git add f &&
  git -c user.name=t -c user.email=t@e commit -q -m init)
"$GRAFOS_CA" image-provenance build --image-kind lab-debian-image --image-name interop \
  --repo repo --binary "$WORK/fabricbiosd" --output record.json >/dev/null 2>&1 ||
  { echo "Bail out! image-provenance build failed"; exit 1; }
expect_ok "grafos-ca signs the record" "$GRAFOS_CA" image-provenance sign --input record.json \
  --sign-key signer/client-key.pem --sign-cert signer/client.pem --output bundle.json
jq -r '.dsseEnvelope.signatures[0].sig' bundle.json | base64 -d >sig.bin
openssl ts -query -data sig.bin -sha256 -cert -out q.tsq 2>/dev/null
openssl ts -reply -config tsa.cnf -queryfile q.tsq -out tok.der 2>/dev/null
jq --arg t "$(base64 -w0 tok.der)" \
  '.verificationMaterial.timestampVerificationData.rfc3161Timestamps = [{signedTimestamp: $t}]' \
  bundle.json >stamped.json
expect_ok "grafos-ca verifies the timestamped bundle" "$GRAFOS_CA" image-provenance verify \
  --input stamped.json --ca ca/ca.pem
expect_ok "grafos-ca writes the trusted root" "$GRAFOS_CA" image-provenance trusted-root \
  --ca ca/ca.pem --tsa-cert tsa.pem --output trusted_root.json
cat tsa.pem ca/ca.pem >tsa-chain.pem
"$GRAFOS_CA" image-provenance trusted-root --ca other/ca.pem --tsa-cert tsa-chain.pem \
  --output other_root.json >/dev/null 2>&1
"$GRAFOS_CA" image-provenance trusted-root --ca ca/ca.pem --output no_tsa_root.json >/dev/null

out=$(verify_js stamped.json trusted_root.json 2>&1)
tap_result $? "@sigstore/verify accepts the timestamped bundle with our trusted root" "$out"
jq '.dsseEnvelope.payload |= (.[0:20] + (if .[20:21] == "A" then "B" else "A" end) + .[21:])' \
  stamped.json >tampered-payload.json
out=$(verify_js tampered-payload.json trusted_root.json 2>&1)
[ $? -ne 0 ] && [[ $out == *"SIGNATURE_ERROR"* ]]
tap_result $? "@sigstore/verify refuses a tampered payload" "$out"
jq '.dsseEnvelope.signatures[0].sig |= (.[0:20] + (if .[20:21] == "A" then "B" else "A" end) + .[21:])' \
  stamped.json >tampered-sig.json
out=$(verify_js tampered-sig.json trusted_root.json 2>&1)
[ $? -ne 0 ] && [[ $out == *"TIMESTAMP_ERROR"* ]]
tap_result $? "@sigstore/verify refuses a tampered signature (and its timestamp)" "$out"
out=$(verify_js bundle.json trusted_root.json 2>&1)
[ $? -ne 0 ] && [[ $out == *"expected 1 timestamps"* ]]
tap_result $? "@sigstore/verify refuses the untimestamped bundle (timestamp threshold 1)" "$out"
out=$(verify_js stamped.json other_root.json 2>&1)
[ $? -ne 0 ] && [[ $out == *"CERTIFICATE_ERROR"* ]]
tap_result $? "@sigstore/verify refuses the bundle against another CA" "$out"
out=$(verify_js stamped.json no_tsa_root.json 2>&1)
[ $? -ne 0 ] && [[ $out == *"TIMESTAMP_ERROR"* ]]
tap_result $? "@sigstore/verify refuses the timestamp when the root lists no TSA" "$out"
echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
