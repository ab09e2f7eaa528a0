#!/usr/bin/env bash
# The README's demo: on a fresh Debian 12 machine, install what is needed, build, and run a CA
# ceremony on a private SoftHSMv2 token: init-ca with the key generated inside the token, one
# certificate of every role plus a server certificate, all checked with `openssl verify`, then a
# signed image-provenance record verified with ca.pem alone (and a tampered binary refused), then
# the CA's memory: the ledger listed, one certificate revoked, a CRL that openssl uses to refuse
# it, and the ceremony transcript verified offline.
#
#   bash scripts/demo-ceremony.sh [DEMO_DIR]      (default: ./demo, recreated)
#
# GRAFOS_BUILD_DIR names the build folder (default build); GRAFOS_DEMO_NO_BUILD=1 skips the
# package install and the build and uses the grafos-ca already built there.
#
# The token lives in DEMO_DIR/hsm (its own SOFTHSM2_CONF); its PINs live in 0600 files there and
# are on no command line: `grafos-ca token init` initialises the token from the files, and
# grafos-ca reads the user PIN from the file named by pin-source=file: in the key URI. SoftHSMv2
# rewrites its token file at every login, so the demo keeps a copy of the token folder in
# DEMO_DIR/hsm/tokens.backup (made before the first login and refreshed once the CA key exists);
# a production CA key belongs in a hardware HSM or a TPM.
#
# Packages: scripts/install-deps.sh runtime build (never the test list: nginx, wrk, ...). The
# build folder and its options are scripts/test.sh's (scripts/build-setup.sh), so the test
# command reuses this build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo=${1:-$root/demo}
# The build folder and options of scripts/test.sh (scripts/build-setup.sh), so that the test
# command afterwards reuses this build. GRAFOS_DEMO_BUILD is the older name of GRAFOS_BUILD_DIR.
[ -n "${GRAFOS_DEMO_BUILD:-}" ] && export GRAFOS_BUILD_DIR=$GRAFOS_DEMO_BUILD
. scripts/build-setup.sh
if [ "${GRAFOS_SETUP_DRY_RUN:-0}" = 1 ]; then grafos_build_setup; exit 0; fi

if [ "${GRAFOS_DEMO_NO_BUILD:-0}" = 1 ]; then
  echo "== using the grafos-ca already built in $grafos_build"  # (tests/readme/demo_test.sh)
else
  echo "== installing the runtime and build packages and building (in $grafos_build)"
  # Not the test list (nginx, wrk, testssl.sh, ...): this is what a ceremony machine needs.
  bash scripts/install-deps.sh runtime build
  grafos_build_setup
  ninja -C "$grafos_build" tools/grafos-ca/grafos-ca >/dev/null
fi
build=$(cd "$grafos_build" && pwd)
ca() { "$build/tools/grafos-ca/grafos-ca" "$@"; }

echo "== private SoftHSMv2 token in $demo/hsm"
rm -rf "$demo"
mkdir -p "$demo/hsm/tokens"
demo=$(cd "$demo" && pwd)
export SOFTHSM2_CONF=$demo/hsm/softhsm2.conf
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$demo" >"$SOFTHSM2_CONF"
(umask 077 && od -An -N4 -tu4 /dev/urandom | tr -d ' ' >"$demo/hsm/user.pin" &&
  od -An -N4 -tu4 /dev/urandom | tr -d ' ' >"$demo/hsm/so.pin")
module=/usr/lib/softhsm/libsofthsm2.so
# grafos-ca token init reads both PINs from the 0600 files (softhsm2-util would take them only as
# arguments, visible to every `ps`, or at a terminal prompt) and prints the key reference.
key=$(ca token init --module "$module" --label fabric-ca --so-pin-file "$demo/hsm/so.pin" \
  --pin-file "$demo/hsm/user.pin")

# SoftHSMv2's file store rewrites token.object at every login (truncate, then write): a process
# killed in between loses the token and every key in it. Keep a copy of the token folder before
# the logins that follow, and refresh it once the CA key is in the token.
backup() {
  rm -rf "$demo/hsm/tokens.backup"
  cp -a "$demo/hsm/tokens" "$demo/hsm/tokens.backup"
  echo "  token folder backed up to $demo/hsm/tokens.backup ($1)"
}
backup "the initialised token, before init-ca logs in"

echo "== init-ca with the key generated inside the token"
ca init-ca --out "$demo/ca" --key "$key"
ls -l "$demo/ca"
backup "now with the CA key, before the next login"

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

echo "== a signed image-provenance record for a lab Debian image, verified with ca.pem only"
img=$demo/image/usr/sbin
mkdir -p "$img"
cp "$build/tools/grafos-ca/grafos-ca" "$img/grafos-ca"
printf '#!/bin/sh\necho fabricbiosd demo\n' >"$img/fabricbiosd"
repo=$root
if ! git -C "$root" rev-parse --show-toplevel >/dev/null 2>&1; then
  repo=$demo/src  # not a git checkout (e.g. a tarball): record a throwaway repository instead
  mkdir -p "$repo" && git -C "$repo" init -q && printf 'demo\n' >"$repo/README" &&
    git -C "$repo" add README && git -C "$repo" -c user.name=demo -c user.email=demo@localhost \
    commit -q -m demo
fi
signer=$demo/provenance-signer-lab-debian
ca image-provenance build --image-kind lab-debian-image --image-name "grafos-demo-$(date -u +%Y%m%d)" \
  --repo "$repo" --binary "$img/fabricbiosd" --binary "$img/grafos-ca" \
  --sign-key "$signer/client-key.pem" --sign-cert "$signer/client.pem" \
  --output "$demo/provenance.sigstore.json"
if ca image-provenance verify --ca "$demo/ca/ca.pem" --input "$demo/provenance.sigstore.json"; then
  echo "  provenance.sigstore.json: signature, signer chain and every binary hash verified"
else
  echo "  provenance.sigstore.json: FAILED to verify" >&2
  fail=1
fi
printf 'x' >>"$img/fabricbiosd"  # what a tampered image looks like at deploy time
if ca image-provenance verify --ca "$demo/ca/ca.pem" --input "$demo/provenance.sigstore.json" \
  >/dev/null 2>"$demo/tampered.err"; then
  echo "  a tampered binary was NOT refused" >&2
  fail=1
else
  echo "  tampered fabricbiosd refused (fail-closed): $(head -1 "$demo/tampered.err")"
fi

echo "== the CA's memory: ledger, revocation, CRL and the signed ceremony transcript"
ca list-certs --ca-cert "$demo/ca/ca.pem"
ca revoke --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --cert "$demo/fabric-observer/client.pem" \
  --reason superseded >/dev/null
ca gen-crl --ca-cert "$demo/ca/ca.pem" --ca-key "$key" --out "$demo/ca/crl.pem" >/dev/null
if openssl verify -crl_check -CAfile "$demo/ca/ca.pem" -CRLfile "$demo/ca/crl.pem" \
  "$demo/fabric-observer/client.pem" >/dev/null 2>&1; then
  echo "  the revoked fabric-observer certificate was NOT refused with the CRL" >&2
  fail=1
else
  echo "  revoked fabric-observer refused by openssl verify -crl_check with ca/crl.pem"
fi
if ca transcript verify --ca "$demo/ca/ca.pem"; then
  echo "  ca/ca-transcript.log verified offline with ca.pem alone (copy the checkpoint above)"
else
  fail=1
fi

if [ "$fail" -ne 0 ]; then
  echo "demo ceremony: some certificates did not verify" >&2
  exit 1
fi
echo "demo ceremony complete: CA key in token 'fabric-ca' ($SOFTHSM2_CONF), outputs in $demo"
echo "token backup: $demo/hsm/tokens.backup (SoftHSMv2 is not crash-safe; use an HSM or a TPM in production)"
