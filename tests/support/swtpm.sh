#!/bin/sh
# Starts / stops a software TPM 2.0 (swtpm socket --tpm2) on unix sockets with its state in DIR,
# and prints the environment to use. The C++ equivalent is Swtpm in tests/support/fixtures.hpp.
#
#   eval "$(tests/support/swtpm.sh start DIR)"   -> SWTPM_PID, TPM2TOOLS_TCTI, TPM2OPENSSL_TCTI,
#                                                   TPM2_PKCS11_TCTI (and TPM2_PKCS11_STORE=DIR/store,
#                                                   empty, for tpm2-pkcs11)
#   tests/support/swtpm.sh stop DIR              -> stops it (always do this, e.g. in a trap)
# Unix sockets only: a fixed TCP port could reach another process's TPM.
set -eu
cmd=${1:?usage: swtpm.sh start|stop DIR}
dir=${2:?usage: swtpm.sh start|stop DIR}
case $cmd in
start)
  mkdir -p "$dir/state" "$dir/store"
  dir=$(cd "$dir" && pwd)
  swtpm socket --tpm2 --flags not-need-init,startup-clear --tpmstate "dir=$dir/state" \
    --server "type=unixio,path=$dir/tpm.sock" --ctrl "type=unixio,path=$dir/tpm.sock.ctrl" \
    --pid "file=$dir/swtpm.pid" --daemon
  i=0
  while [ ! -S "$dir/tpm.sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
  [ -S "$dir/tpm.sock" ] || { echo "swtpm.sh: swtpm did not start" >&2; exit 1; }
  tcti="swtpm:path=$dir/tpm.sock"
  echo "export SWTPM_PID='$(cat "$dir/swtpm.pid")'"
  echo "export TPM2TOOLS_TCTI='$tcti'"
  echo "export TPM2OPENSSL_TCTI='$tcti'"
  echo "export TPM2_PKCS11_TCTI='$tcti'"
  echo "export TPM2_PKCS11_STORE='$dir/store'"
  ;;
stop)
  if [ -f "$dir/swtpm.pid" ]; then
    kill "$(cat "$dir/swtpm.pid")" 2>/dev/null || true
    rm -f "$dir/swtpm.pid"
  fi
  ;;
*)
  echo "usage: swtpm.sh start|stop DIR" >&2
  exit 2
  ;;
esac
