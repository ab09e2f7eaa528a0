#!/bin/sh
# Starts a private SoftHSMv2 token (its own SOFTHSM2_CONF and token directory) and prints the
# environment to use, for shell tests and demos. The C++ equivalent is SoftHsmToken in
# tests/support/fixtures.hpp.
#
#   usage: softhsm-token.sh DIR [LABEL]          (PIN from $SOFTHSM_TEST_PIN, default 246813)
#   eval "$(tests/support/softhsm-token.sh "$tmp" fabric-ca)"
#   -> SOFTHSM2_CONF, GRAFOS_TEST_PKCS11_MODULE, GRAFOS_TEST_PKCS11_PIN_FILE and
#      GRAFOS_TEST_PKCS11_URI (pkcs11:token=LABEL?module-path=...&pin-source=file:DIR/LABEL.pin;
#      append ";object=NAME" before the '?' to name a key).
# The PINs go to 0600 files, which tests/support/p11_init_token.cpp (path in
# $GRAFOS_P11_INIT_TOKEN, set by meson test) reads to initialise the token: never argv.
# Stop: rm -rf DIR (SoftHSM runs in-process; there is no daemon).
set -eu
dir=${1:?usage: softhsm-token.sh DIR [LABEL]}
label=${2:-grafos-test}
init=${GRAFOS_P11_INIT_TOKEN:?run under meson test}  # checked before anything is written
pin=${SOFTHSM_TEST_PIN:-246813}
module=/usr/lib/softhsm/libsofthsm2.so
mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$dir" >"$dir/softhsm2.conf"
(umask 077 && printf '%s\n' "$pin" >"$dir/$label.pin" && printf '87654321\n' >"$dir/$label.so-pin")
SOFTHSM2_CONF=$dir/softhsm2.conf "$init" "$module" \
  "$label" "$dir/$label.so-pin" "$dir/$label.pin" >/dev/null
echo "export SOFTHSM2_CONF='$dir/softhsm2.conf'"
echo "export GRAFOS_TEST_PKCS11_MODULE='$module'"
echo "export GRAFOS_TEST_PKCS11_PIN_FILE='$dir/$label.pin'"
echo "export GRAFOS_TEST_PKCS11_URI='pkcs11:token=$label?module-path=$module&pin-source=file:$dir/$label.pin'"
