#!/usr/bin/env bash
# Installs the Debian 12 packages grafos-pki builds and tests with. Idempotent; needs root (or sudo).
set -euo pipefail
packages=(
  meson ninja-build pkg-config g++ git ca-certificates
  libssl-dev openssl libp11-dev softhsm2 opensc
  libtss2-dev tpm2-tools swtpm swtpm-tools tpm2-openssl libtpm2-pkcs11-1 libtpm2-pkcs11-tools
  libcli11-dev nlohmann-json3-dev libgit2-dev
  libcurl4-openssl-dev curl libboost1.81-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbotan-2-dev botan gnutls-bin strace clang-format
  jq time wrk nginx-light testssl.sh python3 libengine-pkcs11-openssl
  clang libclang-rt-14-dev
  faketime
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
