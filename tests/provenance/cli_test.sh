#!/usr/bin/env bash
# CLI tests for `grafos-ca image-provenance build|sign|verify`, run as a user would: every flag,
# default and refusal of the seed's image-provenance section and DESIGN.md section 5, with exit
# statuses (0 ok, 1 mismatch, 2 usage, 3 bad input, 4 output exists) and "nothing written" checks.
. "$(dirname "$0")/lib.sh"

cd "$WORK" || exit 1
export SOURCE_DATE_EPOCH=1795456800
make_test_pki "$WORK/pki"
make_repo "$WORK/repo"
mkdir -p img/usr/sbin img/usr/bin
printf 'fabricbiosd v1\n' >img/usr/sbin/fabricbiosd
head -c 300000 /dev/urandom >img/usr/bin/grafos-scheduler
B1=$WORK/img/usr/sbin/fabricbiosd
B2=$WORK/img/usr/bin/grafos-scheduler
P=(image-provenance)
build() { "$GRAFOS_CA" "${P[@]}" build --image-kind aws-ami --image-name grafos-cell-1 --repo repo "$@"; }
verify() { "$GRAFOS_CA" "${P[@]}" verify "$@"; }
sign() { "$GRAFOS_CA" "${P[@]}" sign "$@"; }
jqr() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# ---- help
run "$GRAFOS_CA" "${P[@]}" verify --help
ok_if "verify --help documents the exit statuses" \
  bash -c '[[ "$1" == *"1 mismatch"* && "$1" == *"2 usage"* && "$1" == *"3 bad input"* ]]' _ "$OUT"
for sub in build sign verify; do
  run "$GRAFOS_CA" "${P[@]}" "$sub" --help
  tap_result "$RC" "$sub --help exits 0"
done

# ---- build
check "build writes provenance.json by default" 0 "" build --binary "$B1" --binary "$B2"
ok_if "default output file exists with mode 0644" \
  bash -c '[ -f provenance.json ] && [ "$(stat -c %a provenance.json)" = 644 ]'
ok_if "schema_version 1 and binaries in --binary order" \
  test "$(jqr provenance.json 'd["schema_version"], [b["path"] for b in d["binaries"]]')" = "(1, ['$B1', '$B2'])"
ok_if "sha256 agrees with sha256sum" \
  test "$(jqr provenance.json 'd["binaries"][1]["sha256"]')" = "$(sha256sum "$B2" | cut -d' ' -f1)"
ok_if "size agrees with the file" test "$(jqr provenance.json 'd["binaries"][1]["size"]')" = 300000
ok_if "build.time honours SOURCE_DATE_EPOCH" \
  test "$(jqr provenance.json 'd["build"]["time"]')" = 2026-11-23T18:00:00Z
ok_if "source.commit is HEAD of --repo and the tree is clean" \
  test "$(jqr provenance.json 'd["source"]["commit"] + " " + str(d["source"]["dirty"])')" = "$(git -C repo rev-parse HEAD) False"
ok_if "reserved fields are present and null" \
  test "$(jqr provenance.json 'sorted(d["reserved"].items())')" = "[('aws', None), ('azure', None), ('conformance', None), ('gcp', None)]"
cp provenance.json first.json
check "build refuses to overwrite without --force" 4 "--force" build --binary "$B2"
ok_if "the existing record is untouched" cmp -s provenance.json first.json
check "build --force replaces the record" 0 "" build --binary "$B1" --binary "$B2" --force
ok_if "same inputs give a byte-identical record" cmp -s provenance.json first.json
run build --binary "$B1" --binary "$B2" --output -
ok_if "--output - writes the record to stdout" bash -c '[ "$1" = "$(cat first.json)" ]' _ "$OUT"
build --binary "$B2" --binary "$B1" --output reversed.json >/dev/null
ok_if "order follows --binary" \
  test "$(jqr reversed.json 'd["binaries"][0]["path"]')" = "$B2"
echo untracked >repo/untracked.txt
build --binary "$B1" --output untracked.json >/dev/null
ok_if "an untracked file does not make the tree dirty" \
  test "$(jqr untracked.json 'd["source"]["dirty"]')" = False
echo v2 >repo/tracked.txt
build --binary "$B1" --output dirty.json >/dev/null
ok_if "a modified tracked file makes the tree dirty" \
  test "$(jqr dirty.json 'd["source"]["dirty"]')" = True
(cd repo && git checkout -q tracked.txt)
check "build --json prints a summary" 0 "" build --binary "$B1" --output j.json --json
ok_if "build --json summary is JSON" bash -c 'python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d[\"output\"]==\"j.json\" and d[\"binaries\"]==1" "$1"' _ "$OUT"

for c in "missing binary|6|--binary $WORK/img/nope|nope" \
  "directory as binary|3|--binary $WORK/img|directory" \
  "device as binary|3|--binary /dev/null|character device" \
  "duplicate binary|2|--binary $B1 --binary $B1|twice" \
  "no binary|2||at least one --binary"; do
  IFS='|' read -r name st args reason <<<"$c"
  # shellcheck disable=SC2086
  check "build refuses: $name" "$st" "$reason" build $args --output refused.json
  ok_if "build wrote nothing for: $name" test ! -e refused.json
done
SOURCE_DATE_EPOCH=yesterday check "build refuses a bad SOURCE_DATE_EPOCH" 3 "SOURCE_DATE_EPOCH" \
  build --binary "$B1" --output refused.json
ok_if "nothing written for a bad SOURCE_DATE_EPOCH" test ! -e refused.json
check "build refuses a --repo that is not a repository" 3 "not the root of a git repository" \
  "$GRAFOS_CA" "${P[@]}" build --image-kind k --image-name n --repo img --binary "$B1" --output refused.json
ok_if "nothing written for a bad --repo" test ! -e refused.json
check "build without --image-kind is a usage error" 2 "image-kind" \
  "$GRAFOS_CA" "${P[@]}" build --image-name n --repo repo --binary "$B1" --output refused.json
ok_if "nothing written for a usage error" test ! -e refused.json

# ---- verify (unsigned)
check "verify passes on the build host" 0 "" verify --input first.json
run verify --input first.json --json
ok_if "verify --json lists every binary as ok" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["ok"] is True and d["exit_status"] == 0 and [b["status"] for b in d["binaries"]] == ["ok","ok"]' "$OUT"
mkdir -p runtime
cp "$B1" runtime/fabricbiosd
cp "$B2" runtime/grafos-scheduler
check "verify with order-matched --binary overrides" 0 "" \
  verify --input first.json --binary runtime/fabricbiosd --binary runtime/grafos-scheduler
check "swapped overrides are a mismatch" 1 "do not match" \
  verify --input first.json --binary runtime/grafos-scheduler --binary runtime/fabricbiosd
check "too few overrides is a usage error" 2 "order-matched" \
  verify --input first.json --binary runtime/fabricbiosd
check "too many overrides is a usage error" 2 "order-matched" \
  verify --input first.json --binary runtime/fabricbiosd --binary runtime/grafos-scheduler --binary "$B1"

mutate() { # NAME CMD: copy runtime/ to m/, apply CMD inside m/, verify against m/.
  rm -rf m && cp -r runtime m && (cd m && eval "$2")
  check "verify refuses: $1" 1 "do not match" \
    verify --input first.json --binary m/fabricbiosd --binary m/grafos-scheduler
}
mutate "changed byte" 'printf "fabricbiosd v2\n" >fabricbiosd'
mutate "truncated file" 'truncate -s 299999 grafos-scheduler'
mutate "extended file" 'printf x >>grafos-scheduler'
mutate "missing file" 'rm fabricbiosd'
mutate "directory in place of file" 'rm fabricbiosd && mkdir fabricbiosd'
mutate "device in place of file" 'rm fabricbiosd && ln -s /dev/zero fabricbiosd'
rm -rf m && cp -r runtime m && printf 'fabricbiosd v2\n' >m/fabricbiosd
run verify --input first.json --binary m/fabricbiosd --binary m/grafos-scheduler --json
ok_if "verify --json reports the mismatching binary" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["ok"] is False and d["exit_status"] == 1
assert [b["status"] for b in d["binaries"]] == ["mismatch","ok"], d' "$OUT"
rm -rf m && cp -r runtime m && rm m/fabricbiosd
run verify --input first.json --binary m/fabricbiosd --binary m/grafos-scheduler --json
ok_if "verify --json reports a missing binary" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); assert d["binaries"][0]["status"] == "missing", d' "$OUT"

python3 - first.json <<'PY'
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text)
open("truncated.json", "w").write(text[: len(text) // 2])
open("dupkey.json", "w").write('{"schema_version": 1, ' + text.lstrip()[1:])
d2 = dict(d); d2["schema_version"] = 2
json.dump(d2, open("schema2.json", "w"))
d3 = dict(d); d3["binaries"] = d["binaries"] + [d["binaries"][0]]
json.dump(d3, open("duppath.json", "w"))
open("trailing.json", "w").write(text + "x")
open("nul.json", "wb").write(text.encode() + b"\0{\"schema_version\": 2, junk ]]]")
open("bom.json", "wb").write(b"\xef\xbb\xbf" + text.encode())
d4 = json.loads(text); d4["later"] = {"k": [1, 2]}; d4["reserved"]["aws"] = {"ami": "ami-1"}
json.dump(d4, open("unknown.json", "w"))
PY
check "verify refuses malformed (truncated) JSON" 3 "malformed JSON" verify --input truncated.json
check "verify refuses trailing bytes" 3 "malformed JSON" verify --input trailing.json
check "verify refuses a NUL byte followed by anything" 3 "NUL byte" verify --input nul.json
check "verify refuses a byte-order mark" 3 "byte-order mark" verify --input bom.json
check "sign refuses a record with a NUL byte" 3 "NUL byte" \
  sign --input nul.json --sign-key pki/signer-key.pem --sign-cert pki/signer.pem \
  --output nul-bundle.json
if [ -e nul-bundle.json ]; then tap_result 1 "a refused sign writes nothing" "nul-bundle.json exists"
else tap_result 0 "a refused sign writes nothing"; fi
check "verify refuses duplicate JSON keys" 3 "duplicate JSON key" verify --input dupkey.json
check "verify refuses an unknown schema_version" 3 "unknown schema_version 2" verify --input schema2.json
check "verify refuses duplicate paths" 3 "duplicate binary path" verify --input duppath.json
check "verify of a missing --input" 6 "no-such.json" verify --input no-such.json
run verify --input no-such.json --json
ok_if "verify --json reports a refusal as one JSON object with its exit status" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["ok"] is False and d["exit_status"] == 6 and "no-such.json" in d["error"], d' "$OUT"
check "verify of a missing --ca file names --ca" 6 "--ca: " \
  verify --input first.json --ca no-such-ca.pem
check "verify without --input is a usage error" 2 "" verify
check "unknown and reserved fields do not disturb verify" 0 "" verify --input unknown.json

# ---- sign and verify bundles
S=(--sign-key pki/signer-key.pem --sign-cert pki/signer.pem)
check "sign writes a bundle" 0 "" sign --input unknown.json "${S[@]}" --output bundle.json
ok_if "the bundle is a Sigstore bundle v0.3 with a DSSE envelope" python3 -c '
import json; d=json.load(open("bundle.json"))
assert d["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
assert d["verificationMaterial"]["tlogEntries"] == []
assert d["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"'
ok_if "unknown and reserved fields survive signing unchanged" python3 -c '
import json, base64
st = json.loads(base64.b64decode(json.load(open("bundle.json"))["dsseEnvelope"]["payload"]))
assert st["predicate"] == json.load(open("unknown.json")), st["predicate"]'
check "verify --ca accepts the bundle" 0 "" verify --input bundle.json --ca pki/ca/ca.pem
run verify --input bundle.json --ca pki/ca/ca.pem --json
ok_if "verify --json names the signer pipeline" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); assert d["signed"] and d["signer"]["pipeline"] == "ci", d' "$OUT"
check "verify --ca with overrides" 0 "" verify --input bundle.json --ca pki/ca/ca.pem \
  --binary runtime/fabricbiosd --binary runtime/grafos-scheduler
rm -rf m && cp -r runtime m && printf 'fabricbiosd v2\n' >m/fabricbiosd
check "a signed bundle still catches a changed binary" 1 "do not match" \
  verify --input bundle.json --ca pki/ca/ca.pem --binary m/fabricbiosd --binary m/grafos-scheduler
check "a bundle without --ca is refused" 2 "pass --ca" verify --input bundle.json
check "an unsigned record with --ca is refused" 1 "unsigned record" \
  verify --input first.json --ca pki/ca/ca.pem
check "a bundle checked against another CA is refused" 1 "does not chain" \
  verify --input bundle.json --ca pki/other/ca.pem
# An empty --ca (a deploy script's unset variable) is a usage error, never "no --ca".
check "an empty --ca is a usage error, not an unsigned verify" 2 "--ca: must not be empty" \
  verify --input first.json --ca ""
check "build with an empty --sign-key is a usage error" 2 "--sign-key: must not be empty" \
  build --binary "$B1" --output empty-key.json --sign-key "" --sign-cert ""
check "sign with an empty --sign-cert is a usage error" 2 "--sign-cert: must not be empty" \
  sign --input first.json --sign-key pki/signer-key.pem --sign-cert "" --output empty-cert.json
if [ -e empty-key.json ] || [ -e empty-cert.json ]; then
  tap_result 1 "empty-flag refusals write nothing" "$(ls empty-*.json)"
else tap_result 0 "empty-flag refusals write nothing"; fi
check "sign refuses to overwrite without --force" 4 "--force" \
  sign --input unknown.json "${S[@]}" --output bundle.json
check "sign refuses a tenant certificate" 3 "codeSigning" \
  sign --input first.json --sign-key pki/tenant-key.pem --sign-cert pki/tenant.pem --output t.json
ok_if "nothing written for a tenant certificate" test ! -e t.json
check "sign refuses a key that does not match the certificate" 5 "does not match" \
  sign --input first.json --sign-key pki/tenant-key.pem --sign-cert pki/signer.pem --output t.json
ok_if "nothing written for a mismatching key" test ! -e t.json
check "sign refuses the CA certificate" 3 "CA certificate" \
  sign --input first.json --sign-key pki/ca/ca-key.pem --sign-cert pki/ca/ca.pem --output t.json
check "sign refuses a bundle as input" 3 "already a signed bundle" \
  sign --input bundle.json "${S[@]}" --output t.json
check "sign refuses a bad record" 3 "unknown schema_version" \
  sign --input schema2.json "${S[@]}" --output t.json
ok_if "nothing written for refused signing" test ! -e t.json
check "a bundle from another CA's signer is refused" 0 "" \
  sign --input first.json --sign-key pki/other-signer-key.pem --sign-cert pki/other-signer.pem --output other.json
check "  ... by verify --ca with the fabric CA" 1 "does not chain" verify --input other.json --ca pki/ca/ca.pem

run sign --input first.json "${S[@]}" --output -
ok_if "sign --output - writes the bundle to stdout and no file" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json", d' "$OUT"
ok_if "  ... and no provenance.sigstore.json" test ! -e provenance.sigstore.json
# An expired signer certificate is refused before any hashing (exit 3), and nothing is written.
if python3 - pki <<'PY' 2>/dev/null
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
d = sys.argv[1]
load = lambda p: open(f"{d}/{p}", "rb").read()
ca = x509.load_pem_x509_certificate(load("ca/ca.pem"))
ca_key = serialization.load_pem_private_key(load("ca/ca-key.pem"), None)
key = serialization.load_pem_private_key(load("signer-key.pem"), None)
t = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provenance-signer ci")]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(t).not_valid_after(t + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier("urn:fabricbios:provenance-signer:ci")]), critical=False)
        .sign(ca_key, hashes.SHA256()))
open(f"{d}/expired.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
then
  check "build refuses an expired signer certificate" 3 "has expired" \
    build --binary "$B1" --sign-key pki/signer-key.pem --sign-cert pki/expired.pem --output refused.json
  check "sign refuses an expired signer certificate" 3 "has expired" \
    sign --input first.json --sign-key pki/signer-key.pem --sign-cert pki/expired.pem \
    --output refused.json
  ok_if "nothing written for an expired signer" test ! -e refused.json
else
  echo "# python3 cryptography not installed: expired signer not exercised"
fi
check "build --sign-key --sign-cert writes a bundle directly" 0 "" \
  build --binary "$B1" --binary "$B2" "${S[@]}" --output built-bundle.json
check "the bundle from build verifies" 0 "" verify --input built-bundle.json --ca pki/ca/ca.pem
check "build refuses --sign-key without --sign-cert" 2 "go together" \
  build --binary "$B1" --sign-key pki/signer-key.pem --output refused.json
check "build refuses a tenant signer before hashing" 3 "codeSigning" \
  build --binary "$B1" --sign-key pki/tenant-key.pem --sign-cert pki/tenant.pem --output refused.json
ok_if "nothing written for refused signed builds" test ! -e refused.json

# An encrypted PKCS#8 signing key, passphrase from the environment (never argv).
openssl pkcs8 -topk8 -v2 aes-256-cbc -in pki/signer-key.pem -out pki/signer-enc.pem \
  -passout file:<(printf 'correct horse') 2>/dev/null
GRAFOS_KEY_PASSPHRASE='correct horse' check "sign with an encrypted key (passphrase from env)" 0 "" \
  sign --input first.json --sign-key pki/signer-enc.pem --sign-cert pki/signer.pem --output enc.json
check "  ... and it verifies" 0 "" verify --input enc.json --ca pki/ca/ca.pem

# --crl: a bundle whose signer the fabric CA revoked is refused (grafos-ca revoke + gen-crl);
# a CRL of another CA, or one without --ca, is refused too; the other signer still verifies.
issue pki/ca pki/crl-signer --role provenance-signer --pipeline crl-test
check "sign with a signer that will be revoked" 0 "" \
  sign --input first.json --sign-key pki/crl-signer-key.pem --sign-cert pki/crl-signer.pem --output revoked.json
"$GRAFOS_CA" gen-crl --ca-cert pki/ca/ca.pem --ca-key pki/ca/ca-key.pem --out crl-before.pem >/dev/null 2>&1
check "verify --crl before the revocation" 0 "" verify --input revoked.json --ca pki/ca/ca.pem --crl crl-before.pem
"$GRAFOS_CA" revoke --ca-cert pki/ca/ca.pem --ca-key pki/ca/ca-key.pem --cert pki/crl-signer.pem \
  --reason keyCompromise >/dev/null 2>&1
"$GRAFOS_CA" gen-crl --ca-cert pki/ca/ca.pem --ca-key pki/ca/ca-key.pem --out crl.pem >/dev/null 2>&1
check "verify --crl refuses a revoked signer" 1 "signer certificate is revoked" \
  verify --input revoked.json --ca pki/ca/ca.pem --crl crl.pem
check "  ... while without --crl it still verifies (the CRL is opt-in)" 0 "" \
  verify --input revoked.json --ca pki/ca/ca.pem
"$GRAFOS_CA" gen-crl --ca-cert pki/other/ca.pem --ca-key pki/other/ca-key.pem --out other-crl.pem >/dev/null 2>&1
check "verify --crl with another CA's CRL is refused (fail-closed)" 1 "does not chain" \
  verify --input revoked.json --ca pki/ca/ca.pem --crl other-crl.pem
check "verify --crl without --ca is a usage error" 2 "give both" \
  verify --input first.json --crl crl.pem
: >empty-crl.pem
check "an unreadable CRL is refused" 3 "neither PEM nor DER" \
  verify --input revoked.json --ca pki/ca/ca.pem --crl empty-crl.pem

# A signing key inside a private SoftHSMv2 token (PKCS#11 URI, PIN from a file).
SOFTHSM_MODULE=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
  [ -e "$m" ] && SOFTHSM_MODULE=$m && break
done
if [ -n "$SOFTHSM_MODULE" ]; then
  mkdir -p hsm/tokens
  printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$WORK/hsm/tokens" >hsm/softhsm2.conf
  export SOFTHSM2_CONF=$WORK/hsm/softhsm2.conf
  (umask 077 && printf '1234' >hsm/pin && printf '5678' >hsm/so-pin)
  # PINs from the 0600 files, never argv (tests/support/p11_init_token.cpp, p11_import_key.cpp).
  "${GRAFOS_P11_INIT_TOKEN:?run under meson test}" "$SOFTHSM_MODULE" prov hsm/so-pin hsm/pin \
    >/dev/null
  "${GRAFOS_P11_IMPORT_KEY:?run under meson test}" "$SOFTHSM_MODULE" prov signer 01 \
    pki/signer-key.pem hsm/pin >/dev/null
  URI="pkcs11:token=prov;object=signer?module-path=$SOFTHSM_MODULE&pin-source=file:$WORK/hsm/pin"
  check "sign with a key in SoftHSMv2 (PKCS#11 URI, PIN from a file)" 0 "" \
    sign --input first.json --sign-key "$URI" --sign-cert pki/signer.pem --output hsm.json
  check "  ... and the bundle verifies" 0 "" verify --input hsm.json --ca pki/ca/ca.pem
  check "build --sign-key with the SoftHSMv2 key" 0 "" \
    build --binary "$B1" --sign-key "$URI" --sign-cert pki/signer.pem --output hsm-build.json
  check "  ... and the bundle verifies" 0 "" verify --input hsm-build.json --ca pki/ca/ca.pem
  check "a SoftHSMv2 key that does not match --sign-cert is refused" 5 "does not match" \
    sign --input first.json --sign-key "$URI" --sign-cert pki/other-signer.pem --output hsm-bad.json
  ok_if "nothing written for the mismatching token key" test ! -e hsm-bad.json
else
  echo "# SoftHSMv2 not installed: PKCS#11 signing not exercised"
fi

tap_done
