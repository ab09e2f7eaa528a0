# Shared helpers for the interop TAP scripts (sourced, not executed).
#
# Provides: TAP output (ok/not ok with diagnostics, trailing plan), a private work dir removed
# on exit, background processes killed on exit, a private SoftHSMv2 token, and issuance through
# the built grafos-ca ($GRAFOS_CA) with the CA key in a file or in the token.
set -uo pipefail

: "${GRAFOS_CA:?GRAFOS_CA must point at the built grafos-ca (run through meson test)}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/grafos-interop.XXXXXX")
TAP_N=0
TAP_FAILED=0
BG_PIDS=()

interop_cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap interop_cleanup EXIT
trap 'exit 130' INT TERM

# tap_result STATUS DESCRIPTION [DIAGNOSTIC]: one TAP line; the diagnostic goes out as comments.
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

# expect_ok DESCRIPTION CMD...: passes when CMD exits 0.
expect_ok() {
  local desc=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  tap_result "$rc" "$desc" "exit $rc from: $*"$'\n'"$out"
}

# expect_fail DESCRIPTION CMD...: passes when CMD exits non-zero.
expect_fail() {
  local desc=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ]; then
    tap_result 0 "$desc"
  else
    tap_result 1 "$desc" "expected failure but exit 0 from: $*"$'\n'"$out"
  fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then
    tap_result 0 "$1"
  else
    tap_result 1 "$1" "expected: [$2]"$'\n'"actual:   [$3]"
  fi
}

# expect_match DESCRIPTION REGEX TEXT (extended regex, grep -E; passes when some line matches)
expect_match() {
  if grep -Eq -- "$2" <<<"$3"; then
    tap_result 0 "$1"
  else
    tap_result 1 "$1" "no line matches /$2/ in:"$'\n'"$3"
  fi
}

# tap_finish: prints the plan; the exit status says whether every case passed.
tap_finish() {
  echo "1..$TAP_N"
  [ "$TAP_FAILED" -eq 0 ]
}

# bail DESCRIPTION: a setup step failed; report it and stop.
bail() {
  echo "Bail out! $*"
  exit 1
}

# softhsm_token LABEL: creates a private SoftHSMv2 token in $WORK/softhsm and writes its user
# PIN to $WORK/softhsm/user.pin (0600). Sets SOFTHSM_MODULE and exports SOFTHSM2_CONF.
softhsm_token() {
  local label=$1 dir="$WORK/softhsm"
  mkdir -p "$dir/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$dir/tokens" >"$dir/softhsm2.conf"
  export SOFTHSM2_CONF="$dir/softhsm2.conf"
  SOFTHSM_MODULE=""
  local m
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -e "$m" ] && SOFTHSM_MODULE=$m && break
  done
  [ -n "$SOFTHSM_MODULE" ] || return 1
  (umask 077 && od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$dir/user.pin" &&
    od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$dir/so.pin")
  # The PINs reach the token from the files (tests/support/p11_init_token.cpp), never argv.
  "${GRAFOS_P11_INIT_TOKEN:?run under meson test}" "$SOFTHSM_MODULE" "$label" "$dir/so.pin" \
    "$dir/user.pin" >/dev/null
}

# softhsm_uri LABEL OBJECT: the RFC 7512 URI of a key in the private token (PIN from a file).
softhsm_uri() {
  echo "pkcs11:token=$1;object=$2?module-path=$SOFTHSM_MODULE&pin-source=file:$WORK/softhsm/user.pin"
}

# ca_init DIR [KEY_REF]: a new fabric CA in DIR. Sets CA_KEY to what --ca-key takes.
ca_init() {
  local dir=$1 key=${2:-}
  mkdir -p "$dir"
  if [ -n "$key" ]; then
    "$GRAFOS_CA" init-ca --out "$dir" --key "$key" || return 1
    CA_KEY=$key
  else
    "$GRAFOS_CA" init-ca --out "$dir" || return 1
    CA_KEY=$dir/ca-key.pem
  fi
}

# issue_client CA_DIR CA_KEY OUT_DIR ROLE [ARGS...]: one client-role certificate in OUT_DIR.
issue_client() {
  local ca=$1 key=$2 out=$3 role=$4
  shift 4
  mkdir -p "$out"
  "$GRAFOS_CA" issue-cert --ca-cert "$ca/ca.pem" --ca-key "$key" --role "$role" --out "$out" "$@"
}

# issue_server CA_DIR CA_KEY OUT_DIR SANS: one server certificate in OUT_DIR.
issue_server() {
  local ca=$1 key=$2 out=$3 sans=$4
  mkdir -p "$out"
  "$GRAFOS_CA" issue-server-cert --ca-cert "$ca/ca.pem" --ca-key "$key" --san "$sans" --out "$out"
}
