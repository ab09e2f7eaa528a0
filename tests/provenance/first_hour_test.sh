#!/usr/bin/env bash
# Issue 16, image-provenance: verify says what it checked (integrity only for an unsigned record,
# --require-signed), names the image, commit and dirty flag; a missing relative binary is MISSING
# (not MISMATCH) with --root DIR / --binary as the way out; --signer-pipeline, --image-name and
# --image-kind pin who signed and what; build warns on a dirty tree; inspect describes records,
# bundles, certificates, CSRs and CRLs and refuses anything else.
. "$(dirname "$0")/lib.sh"

cd "$WORK" || exit 1
export SOURCE_DATE_EPOCH=1795456800
make_test_pki "$WORK/pki"
make_repo "$WORK/repo"
mkdir -p build/out
printf 'fabricbiosd v1\n' >build/out/fabricbiosd
P=(image-provenance)
verify() { "$GRAFOS_CA" "${P[@]}" verify "$@"; }
S=(--sign-key pki/signer-key.pem --sign-cert pki/signer.pem)
COMMIT=$(git -C repo rev-parse HEAD)

# ---- a record with a relative path, built from build/
(cd build && "$GRAFOS_CA" "${P[@]}" build --image-kind aws-ami --image-name cell-7 --repo ../repo \
  --binary out/fabricbiosd --output ../rel.json) >/dev/null 2>"$WORK/build.err"
ok_if "build of a clean tree writes the record without a warning" \
  bash -c '[ -f rel.json ] && [ ! -s "$1" ]' _ "$WORK/build.err"

run verify --input "$WORK/rel.json"
ok_if "a relative binary missing from here is exit 1" test "$RC" -eq 1
ok_if "it is MISSING, not MISMATCH, with no 'cannot stat'" \
  bash -c '[[ "$1" == *"MISSING   out/fabricbiosd: no such file (a relative path, looked up from"* &&
            "$1" != *MISMATCH* && "$1" != *"cannot stat"* ]]' _ "$OUT"
ok_if "the hint names --root DIR and --binary" \
  bash -c '[[ "$1" == *"--root DIR"* && "$1" == *"--binary PATH"* ]]' _ "$ERR"

check "--root resolves the record's relative paths" 0 "" verify --input rel.json --root build
ok_if "an unsigned record is 'integrity verified' and says nothing tells who made it" \
  bash -c '[[ "$1" == *"integrity verified 1 binaries against rel.json: image aws-ami '"'"'cell-7'"'"', commit '"$COMMIT"'"* &&
            "$1" == *"unsigned record: only integrity was checked; nothing says who made it"* &&
            "$1" != *$'"'"'\nverified'"'"'* ]]' _ "$OUT"
(cd build && "$GRAFOS_CA" "${P[@]}" verify --input ../rel.json >/dev/null 2>&1)
tap_result $? "from the build folder the relative path is found"
check "--root and --binary together are a usage error" 2 "excludes" \
  verify --input rel.json --root build --binary build/out/fabricbiosd
check "--root must not be empty" 2 "--root" verify --input rel.json --root ""
run verify --input rel.json --root build --json
ok_if "--json says integrity-only, the image, commit and dirty flag" \
  test "$(echo "$OUT" | jq -c '[.checked, .image.name, .image.kind, .source.commit, .source.dirty, .signed]')" \
  = "[\"integrity-only\",\"cell-7\",\"aws-ami\",\"$COMMIT\",false,false]"

# ---- --require-signed
check "--require-signed refuses an unsigned record" 1 "unsigned record: nothing says who made it" \
  verify --input rel.json --root build --require-signed

# ---- a signed bundle and the pins
"$GRAFOS_CA" "${P[@]}" sign --input rel.json "${S[@]}" --output bundle.json >/dev/null ||
  echo "Bail out! sign"
check "--require-signed with --ca accepts the bundle" 0 "" \
  verify --input bundle.json --ca pki/ca/ca.pem --root build --require-signed
ok_if "a signed bundle is 'verified' with image, commit and signer" \
  bash -c '[[ "$1" == *$'"'"'\n'"'"'"verified 1 binaries against bundle.json: image aws-ami '"'"'cell-7'"'"', commit '"$COMMIT"'; signed by "*", pipeline ci"* ]]' _ "$OUT"
check "--signer-pipeline ci matches" 0 "" \
  verify --input bundle.json --ca pki/ca/ca.pem --root build --signer-pipeline ci \
  --image-name cell-7 --image-kind aws-ami
check "--signer-pipeline other is refused" 1 "signed by pipeline 'ci', not 'release'" \
  verify --input bundle.json --ca pki/ca/ca.pem --root build --signer-pipeline release
check "--image-name other is refused" 1 "image name 'cell-7', not 'cell-8'" \
  verify --input bundle.json --ca pki/ca/ca.pem --root build --image-name cell-8
check "--image-kind other is refused" 1 "image kind 'aws-ami', not 'gcp-custom-image'" \
  verify --input bundle.json --ca pki/ca/ca.pem --root build --image-kind gcp-custom-image
check "--image-name pins an unsigned record too" 1 "not 'cell-8'" \
  verify --input rel.json --root build --image-name cell-8
check "--signer-pipeline refuses an unsigned record" 1 "it has no signer" \
  verify --input rel.json --root build --signer-pipeline ci
ok_if "a refused pin hashes nothing and prints no binary line" \
  bash -c '[[ "$1" != *"ok        "* ]]' _ "$OUT"

# ---- build warns on a dirty tree
echo v2 >repo/tracked.txt
run "$GRAFOS_CA" "${P[@]}" build --image-kind aws-ami --image-name cell-7 --repo repo \
  --binary build/out/fabricbiosd --output dirty.json
ok_if "build of a dirty tree succeeds with one warning on stderr" \
  bash -c '[ "$1" -eq 0 ] && [[ "$2" == "grafos-ca: warning: the source tree at repo has uncommitted changes"* ]]' _ "$RC" "$ERR"
run verify --input dirty.json
ok_if "verify of a dirty record says dirty" \
  bash -c '[[ "$1" == *"(dirty: built with uncommitted changes)"* ]]' _ "$OUT"

# ---- inspect
run "$GRAFOS_CA" inspect bundle.json --json
ok_if "inspect of a bundle: image, commit, dirty, signer pipeline, binary, not verified" \
  test "$(echo "$OUT" | jq -c '[.kind, .image.name, .source.commit, .source.dirty, .signer.pipeline, .binaries[0].path, .signature_verified]')" \
  = "[\"provenance-bundle\",\"cell-7\",\"$COMMIT\",false,\"ci\",\"out/fabricbiosd\",false]"
run "$GRAFOS_CA" inspect bundle.json
ok_if "inspect of a bundle, for a person, says the signature was not checked" \
  bash -c '[[ "$1" == *"pipeline: ci"* && "$1" == *"not checked"* && "$1" == *"out/fabricbiosd"* ]]' _ "$OUT"
run "$GRAFOS_CA" inspect dirty.json --json
ok_if "inspect of a record: kind, dirty, no signer" \
  test "$(echo "$OUT" | jq -c '[.kind, .source.dirty, .signer]')" = '["provenance-record",true,null]'
run "$GRAFOS_CA" inspect pki/tenant.pem --json
ok_if "inspect of a tenant certificate: role, identity, fingerprint as openssl computes it" \
  test "$(echo "$OUT" | jq -r '[.kind, .role, .identity, .sha256] | join(" ")')" \
  = "certificate tenant urn:fabricbios:tenant:acme $(openssl x509 -in pki/tenant.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)"
openssl x509 -in pki/signer.pem -outform DER -out signer.der
run "$GRAFOS_CA" inspect signer.der --json
ok_if "inspect of a DER provenance-signer certificate" \
  test "$(echo "$OUT" | jq -r '[.role, .identity, (.extended_key_usage | join(","))] | join(" ")')" \
  = "provenance-signer urn:fabricbios:provenance-signer:ci codeSigning"
run "$GRAFOS_CA" inspect pki/ca/ca.pem
ok_if "inspect of the CA certificate, for a person" \
  bash -c '[[ "$1" == *"kind: certificate"* && "$1" == *"role: ca"* && "$1" == *"is_ca: yes"* ]]' _ "$OUT"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout csr-key.pem \
  -out req.csr -subj "/CN=csr test" 2>/dev/null
run "$GRAFOS_CA" inspect req.csr --json
ok_if "inspect of a CSR" test "$(echo "$OUT" | jq -c '[.kind, .subject, .signature_valid]')" \
  = '["csr","CN=csr test",true]'
"$GRAFOS_CA" gen-crl --ca-cert pki/ca/ca.pem --ca-key pki/ca/ca-key.pem --out crl.pem >/dev/null 2>&1
run "$GRAFOS_CA" inspect crl.pem --json
ok_if "inspect of a CRL" test "$(echo "$OUT" | jq -c '[.kind, (.revoked | length)]')" = '["crl",0]'
printf 'hello\n' >junk.txt
check "inspect refuses unknown content" 3 "not a certificate, CSR or CRL (PEM or DER), nor a provenance record or bundle" \
  "$GRAFOS_CA" inspect junk.txt
ok_if "and prints nothing on stdout" test -z "$OUT"
echo '{"a": 1}' >other.json
check "inspect refuses JSON that is neither record nor bundle" 3 "neither a provenance record nor a bundle" \
  "$GRAFOS_CA" inspect other.json
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >bad.pem
check "inspect refuses a malformed PEM certificate" 3 "cannot be parsed" "$GRAFOS_CA" inspect bad.pem
check "inspect of a missing file is exit 6" 6 "no-such.pem" "$GRAFOS_CA" inspect no-such.pem

tap_done
