#!/usr/bin/env bash
# The README's demo: on a fresh Debian 12 machine, install what is needed, build, and run a CA
# ceremony on a private SoftHSMv2 token: init-ca with the key generated inside the token, one
# certificate of every role plus a server certificate, all checked with `openssl verify`.
#
#   bash scripts/demo-ceremony.sh [DEMO_DIR]      (default: ./demo, recreated)
#
# The token lives in DEMO_DIR/hsm (its own SOFTHSM2_CONF); the PIN reaches grafos-ca through a
# 0600 file named by pin-source=file: in the key URI, never on grafos-ca's command line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo=${1:-$root/demo}
build=${GRAFOS_DEMO_BUILD:-$root/build}

echo "== installing packages and building (in $build)"
bash scripts/install-deps.sh
if [ -d "$build" ]; then
  meson setup --reconfigure "$build" >/dev/null
else
  meson setup "$build" >/dev/null
fi
ninja -C "$build" tools/grafos-ca/grafos-ca >/dev/null
ca() { "$build/tools/grafos-ca/grafos-ca" "$@"; }

echo "== private SoftHSMv2 token in $demo/hsm"
rm -rf "$demo"
mkdir -p "$demo/hsm/tokens"
demo=$(cd "$demo" && pwd)
export SOFTHSM2_CONF=$demo/hsm/softhsm2.conf
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$demo" >"$SOFTHSM2_CONF"
pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
so_pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
(umask 077 && printf '%s\n' "$pin" >"$demo/hsm/user.pin")
# softhsm2-util only takes the PINs as arguments; this throwaway demo token is the one exception.
softhsm2-util --init-token --free --label fabric-ca --so-pin "$so_pin" --pin "$pin" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
key="pkcs11:token=fabric-ca;object=ca-key?module-path=$module&pin-source=file:$demo/hsm/user.pin"

echo "== init-ca with the key generated inside the token"
ca init-ca --out "$demo/ca" --key "$key"
ls -l "$demo/ca"

echo "== one certificate of every role, signed in the token"
ca issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --role tenant --tenant acme \
  --out "$demo/tenant-acme"
ca issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --role fabric-observer \
  --out "$demo/fabric-observer"
ca issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --role fabric-admin \
  --out "$demo/fabric-admin"
ca issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --role cell --provider aws --cell-id 42 \
  --out "$demo/cell-aws-42"
ca issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --role provenance-signer \
  --pipeline lab-debian --out "$demo/provenance-signer-lab-debian"
ca issue-server-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" \
  --san scheduler.fabric.example,127.0.0.1,::1 --out "$demo/server"

echo "== a batch of cell identities in one token session"
printf '# demo batch\ncell gcp-europe 1\ncell gcp-europe 2\ncell gcp-europe 3\n' >"$demo/cells.txt"
ca issue-cert --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --batch "$demo/cells.txt" \
  --out "$demo/cells"

echo "== verifying every certificate with openssl verify -x509_strict"
fail=0
check() {  # check PURPOSE CERT
  if out=$(openssl verify -x509_strict -purpose "$1" -CAfile "$demo/ca/ca.pem" "$2" 2>&1); then
    printf '  %-60s %s\n' "${2#"$demo"/}" "OK ($1)"
  else
    printf '  %-60s FAILED: %s\n' "${2#"$demo"/}" "$out"
    fail=1
  fi
}
for d in tenant-acme fabric-observer fabric-admin cell-aws-42 cells/cell-gcp-europe-1 \
  cells/cell-gcp-europe-2 cells/cell-gcp-europe-3; do
  check sslclient "$demo/$d/client.pem"
done
check any "$demo/provenance-signer-lab-debian/client.pem"
check sslserver "$demo/server/server.pem"
for f in "$demo"/*/client.pem "$demo/server/server.pem"; do
  printf '  %-60s %s\n' "${f#"$demo"/}" \
    "$(openssl x509 -in "$f" -noout -ext subjectAltName | tail -n +2 | sed 's/^ *//')"
done

# ==== PROVENANCE STEP (to be added by the provenance work): sign a provenance record with
# ==== $demo/provenance-signer-lab-debian/client.pem + client-key.pem and verify it with ca.pem.
# ==== END PROVENANCE STEP

if [ "$fail" -ne 0 ]; then
  echo "demo ceremony: some certificates did not verify" >&2
  exit 1
fi
echo "demo ceremony complete: CA key in token 'fabric-ca' ($SOFTHSM2_CONF), outputs in $demo"
