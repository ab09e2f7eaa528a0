# Shared helpers for the provenance TAP scripts (sourced, not executed).
#
# Provides: TAP output with a trailing plan, a private work dir removed on exit, `run` (captures
# stdout, stderr and the exit status of one command), `check` (asserts the exit status and that
# stderr names the reason), and a test PKI issued by grafos-ca itself: a fabric CA, a
# provenance-signer leaf (codeSigning, urn:fabricbios:provenance-signer:<pipeline>), a tenant leaf
# (clientAuth) and a second, unrelated CA. make_ca / make_leaf (openssl CLI) remain for the
# benchmark-style fixtures that need arbitrary extensions.
set -uo pipefail

: "${GRAFOS_CA:?GRAFOS_CA must point at the built grafos-ca (run through meson test)}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/grafos-prov.XXXXXX")
TAP_N=0
TAP_FAILED=0
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# tap_result STATUS DESCRIPTION [DIAGNOSTIC]
tap_result() {
  TAP_N=$((TAP_N + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $TAP_N - $2"
  else
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_N - $2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
  fi
  return 0
}

# ok_if DESCRIPTION CMD...: passes when CMD (a test expression or command) succeeds.
ok_if() {
  local desc=$1
  shift
  if "$@"; then tap_result 0 "$desc"; else tap_result 1 "$desc" "failed: $*"; fi
}

# run CMD...: runs CMD; sets OUT, ERR, RC.
run() {
  OUT=$("$@" 2>"$WORK/.stderr")
  RC=$?
  ERR=$(cat "$WORK/.stderr")
}

# check DESCRIPTION RC SUBSTRING CMD...: runs CMD, expects exit RC and SUBSTRING in stderr
# (empty SUBSTRING: stderr not checked).
check() {
  local desc=$1 want=$2 reason=$3
  shift 3
  run "$@"
  if [ "$RC" -ne "$want" ]; then
    tap_result 1 "$desc" "want exit $want, got $RC from: $*"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
  elif [ -n "$reason" ] && [[ "$ERR" != *"$reason"* ]]; then
    tap_result 1 "$desc" "stderr lacks '$reason': $ERR"
  else
    tap_result 0 "$desc"
  fi
}

tap_done() {
  echo "1..$TAP_N"
  [ "$TAP_FAILED" -eq 0 ]
}

# make_ca DIR CN: self-signed P-256 CA (ca.pem, ca-key.pem) in DIR.
make_ca() {
  mkdir -p "$1"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1/ca-key.pem" -out "$1/ca.pem" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
}

# make_leaf CADIR OUT CN SAN EKU [DAYS]: P-256 leaf OUT.pem / OUT-key.pem issued by CADIR.
make_leaf() {
  local ca=$1 out=$2 cn=$3 san=$4 eku=$5 days=${6:-365}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out-key.pem" \
    -out "$out.csr" -subj "/CN=$cn" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=$eku" "subjectAltName=$san" "authorityKeyIdentifier=keyid:always" \
    "subjectKeyIdentifier=hash" >"$out.ext"
  openssl x509 -req -in "$out.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 -extfile "$out.ext" \
    -out "$out.pem" 2>/dev/null
  rm -f "$out.csr" "$out.ext"
}

# issue CADIR OUT ISSUE-CERT-FLAGS...: a leaf from `grafos-ca issue-cert` as OUT.pem / OUT-key.pem.
issue() {
  local ca=$1 out=$2
  shift 2
  "$GRAFOS_CA" issue-cert --ca-cert "$ca/ca.pem" --ca-key "$ca/ca-key.pem" --out "$out.d" "$@" \
    >/dev/null &&
    mv "$out.d/client.pem" "$out.pem" && mv "$out.d/client-key.pem" "$out-key.pem" && rmdir "$out.d"
}

# make_test_pki DIR: made with grafos-ca init-ca / issue-cert: DIR/ca (fabric CA), DIR/signer
# (--role provenance-signer --pipeline ci), DIR/tenant (tenant acme, clientAuth), DIR/other
# (a second CA) and DIR/other-signer (a provenance signer of the second CA).
make_test_pki() {
  "$GRAFOS_CA" init-ca --out "$1/ca" --cn "Test Fabric CA" >/dev/null &&
    "$GRAFOS_CA" init-ca --out "$1/other" --cn "Other CA" >/dev/null &&
    issue "$1/ca" "$1/signer" --role provenance-signer --pipeline ci &&
    issue "$1/ca" "$1/tenant" --tenant acme &&
    issue "$1/other" "$1/other-signer" --role provenance-signer --pipeline ci ||
    { echo "Bail out! cannot make the test PKI with grafos-ca"; exit 1; }
}

# make_repo DIR: a git repository with one commit of tracked.txt.
make_repo() {
  mkdir -p "$1"
  (cd "$1" && git init -q . && echo v1 >tracked.txt && git add tracked.txt &&
    git -c user.name=t -c user.email=t@e commit -q -m init)
}
