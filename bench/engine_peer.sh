#!/usr/bin/env bash
# One certificate from a CSR as a process, with the CA key in the same private SoftHSMv2 token:
# `grafos-ca issue-cert --csr` (ledger, transcript and checkpoint included, files durable) against
# `openssl x509 -req -engine pkcs11 -CAkeyform engine` (libp11's engine, Debian's
# libengine-pkcs11-openssl), interleaved in one loop, the peer issue 13 names for an HSM-held key.
#
#   bash bench/engine_peer.sh [BUILD_DIR]     (BENCH_N runs each, default 50)
[ -n "${BASH_VERSION:-}" ] || { echo "engine_peer.sh: run it with bash" >&2; exit 2; }
set -euo pipefail
BUILD=${1:-build}
CA=$(realpath "${GRAFOS_CA:-$BUILD/tools/grafos-ca/grafos-ca}")
INIT_TOKEN=$(realpath "$BUILD/tests/support/p11_init_token")
N=${BENCH_N:-50}
ENGINE=$(ls /usr/lib/*/engines-3/pkcs11.so 2>/dev/null | head -n 1)
[ -n "$ENGINE" ] || { echo "engine_peer.sh: needs libengine-pkcs11-openssl (apt-get install libengine-pkcs11-openssl)" >&2; exit 2; }
MODULE=/usr/lib/softhsm/libsofthsm2.so
W=$(mktemp -d "${TMPDIR:-/tmp}/grafos-bench-engine.XXXXXX")
trap 'rm -rf "$W"' EXIT
export SSL_CERT_FILE=/dev/null
mkdir -p "$W/tok"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$W/tok" >"$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
(umask 077; printf '246813\n' >"$W/user.pin"; printf '13572468\n' >"$W/so.pin")
"$INIT_TOKEN" "$MODULE" bench "$W/so.pin" "$W/user.pin" >/dev/null
URI="pkcs11:token=bench;object=ca-key?module-path=$MODULE&pin-source=file:$W/user.pin"
"$CA" init-ca --out "$W/ca" --key "$URI" >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/leaf-key.pem" \
  -out "$W/leaf.csr" -subj /CN=acme 2>/dev/null
# The same profile as grafos-ca's tenant certificate.
cat >"$W/ext.cnf" <<CNF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=URI:urn:fabricbios:tenant:acme
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
CNF
# libp11's engine takes no pin-source in the URI: its PIN comes from this 0600 config file
# (never argv), and the URI names only the token and object.
(umask 077; cat >"$W/openssl.cnf" <<CNF
openssl_conf = conf
[conf]
engines = engines
[engines]
pkcs11 = pkcs11
[pkcs11]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
PIN = $(cat "$W/user.pin")
init = 0
CNF
)
ENGINE_URI="pkcs11:token=bench;object=ca-key;type=private"
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }
g_total=0; o_total=0
for i in $(seq 1 "$N"); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -out "$W/leaf-$i.csr" -subj /CN=x 2>/dev/null
done
for i in $(seq 1 "$N"); do
  t0=$EPOCHREALTIME
  "$CA" issue-cert --ca-cert "$W/ca/ca.pem" --ca-key "$URI" --tenant "t$i" --csr "$W/leaf-$i.csr" \
    --out "$W/g$i" >/dev/null 2>"$W/g.err" || { cat "$W/g.err" >&2; exit 1; }
  t1=$EPOCHREALTIME
  OPENSSL_CONF=$W/openssl.cnf openssl x509 -req -in "$W/leaf.csr" -engine pkcs11 -CAkeyform engine \
    -CAkey "$ENGINE_URI" -CA "$W/ca/ca.pem" -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
    -extfile "$W/ext.cnf" -out "$W/o$i.pem" 2>"$W/o.err" || { cat "$W/o.err" >&2; exit 1; }
  t2=$EPOCHREALTIME
  g_total=$(awk -v s="$g_total" -v d="$(ms "$t0" "$t1")" 'BEGIN { print s + d }')
  o_total=$(awk -v s="$o_total" -v d="$(ms "$t1" "$t2")" 'BEGIN { print s + d }')
done
g=$(awk -v s="$g_total" -v n="$N" 'BEGIN { printf "%.2f", s / n }')
o=$(awk -v s="$o_total" -v n="$N" 'BEGIN { printf "%.2f", s / n }')
echo "openssl x509 -req -engine pkcs11 (SoftHSM key): $o ms/cert"
echo "grafos-ca issue-cert --csr (SoftHSM key, ledger + transcript): $g ms/cert, ratio" \
  "$(awk -v a="$g" -v b="$o" 'BEGIN { printf "%.2f", a / b }') (target <= 1.0)"
