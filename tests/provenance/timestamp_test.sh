#!/usr/bin/env bash
# RFC 3161 timestamps on signed bundles, end to end with real processes: a bundle signed by
# grafos-ca is timestamped by `openssl ts -reply` (an independent TSA; its certificate issued from
# the fabric CA, or from an outside CA given with --tsa-ca), verified at the timestamp's genTime,
# and still verified with the verifier's clock moved past the signer's expiry (faketime), while
# an untimestamped bundle is refused then. Also `image-provenance trusted-root`: its Sigstore
# trusted-root shape, the TSA-profile refusal and the --force convention.
. "$(dirname "$0")/lib.sh"

cd "$WORK" || exit 1
VEC=${GRAFOS_SOURCE_ROOT:?}/tests/data/provenance
make_test_pki "$WORK/pki"
make_leaf pki/ca pki/tsa "timestamp-authority t1" "URI:urn:fabricbios:timestamp-authority:t1" \
  "critical,timeStamping"
make_ca outside "Outside TSA CA"
make_leaf outside outside-tsa "Outside TSA" "DNS:tsa.example" "critical,timeStamping"
cat outside-tsa.pem outside/ca.pem >outside-chain.pem
printf 'fabricbiosd\n' >fabricbiosd
check "grafos-ca signs a bundle" 0 "" "$GRAFOS_CA" image-provenance build \
  --image-kind lab-debian-image --image-name ts --repo "$(make_repo repo && echo repo)" \
  --binary "$WORK/fabricbiosd" --sign-key pki/signer-key.pem --sign-cert pki/signer.pem \
  --output bundle.json

# tsa_config NAME CERT KEY: an `openssl ts -reply` configuration in NAME.cnf.
tsa_config() {
  echo 01 >"$1.serial"
  cat >"$1.cnf" <<CNF
[tsa]
default_tsa = t
[t]
serial = $WORK/$1.serial
crypto_device = builtin
signer_cert = $2
signer_key = $3
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.15
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
CNF
}
tsa_config fabric pki/tsa.pem pki/tsa-key.pem
tsa_config outside outside-tsa.pem outside-tsa-key.pem

# stamp CNF IN OUT: asks the openssl TSA for a token over IN's signature (Sigstore's imprint rule:
# SHA-256 of the decoded signature bytes) and writes IN with the token attached as OUT.
stamp() {
  jq -r '.dsseEnvelope.signatures[0].sig' "$2" | base64 -d >sig.bin
  openssl ts -query -data sig.bin -sha256 -cert -out q.tsq 2>/dev/null &&
    openssl ts -reply -config "$1" -queryfile q.tsq -token_out -out tok.der 2>/dev/null &&
    jq --arg t "$(base64 -w0 tok.der)" \
      '.verificationMaterial.timestampVerificationData.rfc3161Timestamps += [{signedTimestamp: $t}]' \
      "$2" >"$3"
}
ok_if "openssl ts -reply timestamps the bundle (fabric TSA)" stamp fabric.cnf bundle.json stamped.json
ok_if "openssl ts -reply timestamps the bundle (outside TSA)" stamp outside.cnf bundle.json outside.json

check "a timestamped bundle verifies" 0 "" "$GRAFOS_CA" image-provenance verify \
  --input stamped.json --ca pki/ca/ca.pem
ok_if "verify says the signer was checked at the timestamp" \
  grep -q "^timestamp .* by .*timestamp-authority t1: signer checked at that time" <<<"$OUT"
check "an untimestamped bundle verifies" 0 "" "$GRAFOS_CA" image-provenance verify \
  --input bundle.json --ca pki/ca/ca.pem
ok_if "verify says an untimestamped bundle was checked now" \
  grep -qx "no timestamp: checked at the current time" <<<"$OUT"
check "--json lists the timestamps" 0 "" "$GRAFOS_CA" image-provenance verify \
  --input stamped.json --ca pki/ca/ca.pem --json
ok_if "--json timestamps[0].authority names the TSA" \
  test "$(jq -r '.timestamps[0].authority' <<<"$OUT")" = "CN=timestamp-authority t1"
check "the outside TSA's timestamp is refused with --ca alone" 1 "is not trusted" \
  "$GRAFOS_CA" image-provenance verify --input outside.json --ca pki/ca/ca.pem
check "the outside TSA's timestamp verifies with --tsa-ca" 0 "" \
  "$GRAFOS_CA" image-provenance verify --input outside.json --ca pki/ca/ca.pem --tsa-ca outside-chain.pem
check "--tsa-ca that is not the TSA's CA is refused" 1 "is not trusted" \
  "$GRAFOS_CA" image-provenance verify --input stamped.json --ca pki/ca/ca.pem --tsa-ca outside/ca.pem
check "--tsa-ca without a CA certificate is refused" 3 "no CA certificate" \
  "$GRAFOS_CA" image-provenance verify --input stamped.json --ca pki/ca/ca.pem --tsa-ca outside-tsa.pem
check "a missing --tsa-ca file is refused" 6 "" \
  "$GRAFOS_CA" image-provenance verify --input stamped.json --ca pki/ca/ca.pem --tsa-ca nope.pem
jq '.dsseEnvelope.signatures[0].sig |= (.[0:10] + (if .[10:11] == "A" then "B" else "A" end) + .[11:])' \
  stamped.json >tampered.json
check "a tampered signature is refused (the timestamp is over other bytes)" 1 "over other bytes" \
  "$GRAFOS_CA" image-provenance verify --input tampered.json --ca pki/ca/ca.pem

# The verifier's clock past the signer's expiry (faketime): ts/clock's signer is valid 2026-2030.
if command -v faketime >/dev/null; then
  CLK=$VEC/ts/clock
  check "in 2031 a timestamped bundle still verifies" 0 "" faketime "2031-06-01 00:00:00" \
    "$GRAFOS_CA" image-provenance verify --input "$CLK/timestamped.json" --ca "$VEC/ts/ca.pem" \
    --binary "$VEC/bin/fabricbiosd" --binary "$VEC/bin/grafos-scheduler"
  check "in 2031 the untimestamped bundle is refused (signer expired)" 1 "expired" \
    faketime "2031-06-01 00:00:00" \
    "$GRAFOS_CA" image-provenance verify --input "$CLK/untimestamped.json" --ca "$VEC/ts/ca.pem" \
    --binary "$VEC/bin/fabricbiosd" --binary "$VEC/bin/grafos-scheduler"
  check "in 2029 the untimestamped bundle verifies" 0 "" faketime "2029-06-01 00:00:00" \
    "$GRAFOS_CA" image-provenance verify --input "$CLK/untimestamped.json" --ca "$VEC/ts/ca.pem" \
    --binary "$VEC/bin/fabricbiosd" --binary "$VEC/bin/grafos-scheduler"
else
  tap_result 1 "faketime is installed (scripts/install-deps.sh)"
fi

# trusted-root.
check "trusted-root writes a Sigstore trusted root" 0 "" "$GRAFOS_CA" image-provenance \
  trusted-root --ca pki/ca/ca.pem --tsa-cert pki/tsa.pem --output root.json
ok_if "its mediaType is trustedroot v0.1" \
  test "$(jq -r .mediaType root.json)" = application/vnd.dev.sigstore.trustedroot.v0.1+json
ok_if "no transparency or CT logs" test "$(jq -c '[.tlogs, .ctlogs]' root.json)" = "[[],[]]"
ok_if "the CA's chain is the fabric CA" test "$(jq -r \
  '.certificateAuthorities[0].certChain.certificates[0].rawBytes' root.json)" = \
  "$(openssl x509 -in pki/ca/ca.pem -outform DER | base64 -w0)"
ok_if "the TSA chain is the TSA then the fabric CA" test "$(jq -r \
  '[.timestampAuthorities[0].certChain.certificates[].rawBytes] | join(",")' root.json)" = \
  "$(openssl x509 -in pki/tsa.pem -outform DER | base64 -w0),$(openssl x509 -in pki/ca/ca.pem -outform DER | base64 -w0)"
ok_if "validFor is the TSA certificate's validity" test "$(jq -r \
  '.timestampAuthorities[0].validFor.end' root.json)" = \
  "$(date -u -d "$(openssl x509 -in pki/tsa.pem -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)"
ok_if "the trusted root is 0644" test "$(stat -c %a root.json)" = 644
cp root.json root.before
check "an existing --output is refused without --force" 4 "--force" "$GRAFOS_CA" \
  image-provenance trusted-root --ca pki/ca/ca.pem --output root.json
ok_if "the refused output is unchanged" cmp -s root.json root.before
check "--force replaces it" 0 "" "$GRAFOS_CA" image-provenance trusted-root --ca pki/ca/ca.pem \
  --output root.json --force
ok_if "without --tsa-cert there is no timestamp authority" \
  test "$(jq -c .timestampAuthorities root.json)" = "[]"
check "a TSA chain from another CA is written from the file's chain" 0 "" "$GRAFOS_CA" \
  image-provenance trusted-root --ca pki/ca/ca.pem --tsa-cert outside-chain.pem --output out.json
ok_if "its TSA chain ends at the outside CA" test "$(jq -r \
  '.timestampAuthorities[0].certChain.certificates | length' out.json)" = 2
check "a --tsa-cert that is not a TSA (codeSigning) is refused" 3 "not a time-stamping authority" \
  "$GRAFOS_CA" image-provenance trusted-root --ca pki/ca/ca.pem --tsa-cert pki/signer.pem \
  --output no1.json
ok_if "nothing was written for it" test ! -e no1.json
check "a --tsa-cert that is a CA is refused" 3 "CA certificate" "$GRAFOS_CA" image-provenance \
  trusted-root --ca pki/ca/ca.pem --tsa-cert pki/ca/ca.pem --output no2.json
ok_if "nothing was written for it" test ! -e no2.json
check "a TSA without its chain is refused" 3 "chain does not verify" "$GRAFOS_CA" \
  image-provenance trusted-root --ca pki/ca/ca.pem --tsa-cert outside-tsa.pem --output no3.json
ok_if "nothing was written for it" test ! -e no3.json
check "a leaf as --ca is refused" 3 "not a CA certificate" "$GRAFOS_CA" image-provenance \
  trusted-root --ca pki/signer.pem --output no4.json
ok_if "nothing was written for it" test ! -e no4.json
check "--output - prints the trusted root" 0 "" "$GRAFOS_CA" image-provenance trusted-root \
  --ca pki/ca/ca.pem --tsa-cert pki/tsa.pem --output -
ok_if "stdout is the trusted root" test "$(jq -r .mediaType <<<"$OUT")" = \
  application/vnd.dev.sigstore.trustedroot.v0.1+json
tap_done
