#!/usr/bin/env bash
# Installs the Debian 12 packages grafos-pki runs, builds and tests with. Idempotent; needs root
# (or sudo) only when something is missing.
#
#   bash scripts/install-deps.sh [--print] [runtime|build|test|all]...    (default: all)
#
#   runtime  what the three tools need to run: OpenSSL, libp11, SQLite, libcurl, libgit2, the key
#            backends (SoftHSMv2, OpenSC's pkcs11-tool, tpm2-tools, the tpm2 OpenSSL provider,
#            tpm2-pkcs11) and git.
#   build    compilers, meson and the -dev packages (the demo installs runtime + build).
#   test     what the test suite and the benchmarks use: GoogleTest, Botan, GnuTLS's certtool,
#            swtpm, nginx, wrk, testssl.sh, curl, strace, zsh (completion test), clang (fuzzing),
#            clang-format, python3.
#            Not for a CA ceremony machine: on a systemd host, installing nginx starts it.
#   all      the three (scripts/test.sh, .ci/run).
#   --print  list the packages of the chosen groups, one a line, and install nothing.
# Exit status: 0 done, 1 apt-get failed, 2 usage.
set -euo pipefail
runtime=(
  openssl libssl3 ca-certificates libp11-3 softhsm2 opensc
  tpm2-tools tpm2-openssl libtpm2-pkcs11-1 libtpm2-pkcs11-tools
  libsqlite3-0 libcurl4 libgit2-1.5 git
)
build=(
  meson ninja-build pkg-config g++
  libssl-dev libp11-dev libtss2-dev
  libcli11-dev nlohmann-json3-dev libgit2-dev
  libcurl4-openssl-dev libboost1.81-dev libsqlite3-dev
)
test=(
  libgtest-dev libgmock-dev libbotan-2-dev botan gnutls-bin swtpm swtpm-tools
  curl sqlite3 strace jq time python3 clang-format zsh
  wrk nginx-light testssl.sh libengine-pkcs11-openssl
  clang libclang-rt-14-dev
  faketime
)
print=0
groups=()
for a in "$@"; do
  case "$a" in
    --print) print=1 ;;
    runtime|build|test) groups+=("$a") ;;
    all) groups+=(runtime build test) ;;
    -h|--help) sed -n '2,/^# Exit status/p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown group '$a' (runtime, build, test or all)" >&2; exit 2 ;;
  esac
done
((${#groups[@]})) || groups=(runtime build test)
packages=()
for g in "${groups[@]}"; do
  declare -n list=$g
  packages+=("${list[@]}")
  unset -n list
done
if ((print)); then
  printf '%s\n' "${packages[@]}" | awk '!seen[$0]++'
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q || exit 1
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" || exit 1
fi
