#!/usr/bin/env bash
# Interop: a bundle signed by grafos-ca is checked without the project's code. jq + base64 +
# printf rebuild the DSSE PAE bytes, `openssl dgst -sha256 -verify` checks the ECDSA signature
# with the public key taken from the bundle's certificate, `openssl verify` checks that
# certificate against ca.pem, and sha256sum checks the statement's subjects.
. "$(dirname "$0")/lib.sh"

cd "$WORK" || exit 1
make_test_pki "$WORK/pki"
make_repo "$WORK/repo"
printf 'fabricbiosd\n' >fabricbiosd
head -c 100000 /dev/urandom >grafos-scheduler
check "grafos-ca builds a signed bundle" 0 "" "$GRAFOS_CA" image-provenance build \
  --image-kind lab-debian-image --image-name interop --repo repo \
  --binary "$WORK/fabricbiosd" --binary "$WORK/grafos-scheduler" \
  --sign-key pki/signer-key.pem --sign-cert pki/signer.pem --output bundle.json

# pae TYPE BODYFILE OUT: DSSE v1 pre-authentication encoding, by hand.
pae() {
  { printf 'DSSEv1 %d %s %d ' "${#1}" "$1" "$(stat -c %s "$2")"; cat "$2"; } >"$3"
}
printf 'hello world' >hello.txt
pae http://example.com/HelloWorld hello.txt hello.pae
ok_if "the shell PAE matches the DSSE specification's test vector" \
  test "$(cat hello.pae)" = "DSSEv1 29 http://example.com/HelloWorld 11 hello world"

jq -r .mediaType bundle.json >media.txt
ok_if "jq reads a Sigstore bundle v0.3" \
  test "$(cat media.txt)" = application/vnd.dev.sigstore.bundle.v0.3+json
ok_if "the bundle has no transparency-log entries" \
  test "$(jq -c .verificationMaterial.tlogEntries bundle.json)" = "[]"
jq -r .dsseEnvelope.payload bundle.json | base64 -d >payload.bin
ptype=$(jq -r .dsseEnvelope.payloadType bundle.json)
jq -r '.dsseEnvelope.signatures[0].sig' bundle.json | base64 -d >sig.der
jq -r .verificationMaterial.certificate.rawBytes bundle.json | base64 -d >cert.der
ok_if "payloadType is in-toto's" test "$ptype" = application/vnd.in-toto+json
pae "$ptype" payload.bin pae.bin
openssl x509 -inform DER -in cert.der -out cert.pem
openssl x509 -in cert.pem -pubkey -noout >pub.pem
run openssl dgst -sha256 -verify pub.pem -signature sig.der pae.bin
ok_if "openssl verifies the DSSE signature over the rebuilt PAE" \
  bash -c '[ "$1" -eq 0 ] && [[ "$2" == *"Verified OK"* ]]' _ "$RC" "$OUT"
run openssl asn1parse -inform DER -in sig.der
ok_if "the signature is DER (an ASN.1 SEQUENCE of two INTEGERs)" \
  bash -c '[ "$1" -eq 0 ] && [ "$(grep -c INTEGER <<<"$2")" = 2 ]' _ "$RC" "$OUT"
run openssl verify -x509_strict -CAfile pki/ca/ca.pem cert.pem
tap_result "$RC" "openssl verifies the signer certificate against ca.pem" "$OUT $ERR"
run openssl x509 -in cert.pem -noout -ext extendedKeyUsage,subjectAltName
ok_if "the signer certificate has codeSigning and the provenance-signer URN" \
  bash -c '[[ "$1" == *"Code Signing"* && "$1" == *"URI:urn:fabricbios:provenance-signer:ci"* ]]' _ "$OUT"
ok_if "statement type, predicate type and subjects (checked with jq and sha256sum)" bash -c '
  [ "$(jq -r ._type payload.bin)" = https://in-toto.io/Statement/v1 ] &&
  [ "$(jq -r .predicateType payload.bin)" = https://grafos.dev/provenance/image/v1 ] &&
  [ "$(jq -r ".subject[] | .digest.sha256 + \"  \" + .name" payload.bin)" = \
    "$(sha256sum "$1/fabricbiosd" "$1/grafos-scheduler")" ] &&
  [ "$(jq -c "[.subject[].name]" payload.bin)" = "$(jq -c "[.predicate.binaries[].path]" payload.bin)" ]' _ "$WORK"

# The same check must fail on a changed payload (this test can fail).
sed 's/interop/interpol/' payload.bin >payload2.bin
pae "$ptype" payload2.bin pae2.bin
run openssl dgst -sha256 -verify pub.pem -signature sig.der pae2.bin
ok_if "openssl refuses the signature over a changed payload" test "$RC" -ne 0
pae "application/json" payload.bin pae3.bin
run openssl dgst -sha256 -verify pub.pem -signature sig.der pae3.bin
ok_if "openssl refuses the signature under another payloadType" test "$RC" -ne 0

# A bundle made entirely by the shell (openssl signs, jq assembles) verifies with grafos-ca.
rec=$(jq -c .predicate payload.bin)
jq -cn --argjson r "$rec" '{_type:"https://in-toto.io/Statement/v1",
  subject:[$r.binaries[]|{name:.path,digest:{sha256:.sha256}}],
  predicateType:"https://grafos.dev/provenance/image/v1", predicate:$r}' | tr -d '\n' >shell.payload
pae application/vnd.in-toto+json shell.payload shell.pae
openssl dgst -sha256 -sign pki/signer-key.pem -out shell.sig shell.pae
jq -n --arg p "$(base64 -w0 shell.payload)" --arg s "$(base64 -w0 shell.sig)" \
  --arg c "$(base64 -w0 cert.der)" '{mediaType:"application/vnd.dev.sigstore.bundle.v0.3+json",
  verificationMaterial:{certificate:{rawBytes:$c},tlogEntries:[]},
  dsseEnvelope:{payload:$p,payloadType:"application/vnd.in-toto+json",
  signatures:[{keyid:"",sig:$s}]}}' >shell-bundle.json
check "grafos-ca verifies a bundle assembled with jq and signed by openssl" 0 "" \
  "$GRAFOS_CA" image-provenance verify --input shell-bundle.json --ca pki/ca/ca.pem

tap_done
