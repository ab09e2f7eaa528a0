#!/usr/bin/env bash
# grafos-ca token init on a real SoftHSMv2 (its own SOFTHSM2_CONF in a temporary folder): the
# token appears in pkcs11-tool --list-slots, the printed URI works as init-ca --key and
# --ca-key, and every refusal (PIN file wider than 0600, missing label, empty PIN, no terminal
# for a prompt, a label that exists) says why and changes nothing in the token folder. Then the
# same on a TPM through tpm2-pkcs11 when swtpm is installed. TAP output.
#   env: GRAFOS_CA, GRAFOS_SOURCE_ROOT (set by meson test)
set -uo pipefail
ca=${GRAFOS_CA:?run under meson test}
src=${GRAFOS_SOURCE_ROOT:?run under meson test}
module=/usr/lib/softhsm/libsofthsm2.so
[ -f "$module" ] || { echo "1..0 # SKIP SoftHSMv2 not installed"; exit 0; }
tmp=$(mktemp -d)
tpm_dir=""
cleanup() {
  [ -n "$tpm_dir" ] && sh "$src/tests/support/swtpm.sh" stop "$tpm_dir" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

cd "$tmp"
mkdir -p hsm/tokens
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$tmp" >hsm/softhsm2.conf
export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf
unset GRAFOS_PKCS11_PIN
(umask 077 && echo 11223344 >hsm/so.pin && echo 55667788 >hsm/user.pin && : >hsm/empty.pin)
echo 55667788 >hsm/wide.pin && chmod 644 hsm/wide.pin
state() { find hsm/tokens -type f -exec sha256sum {} + 2>/dev/null | sort; }
labels() { pkcs11-tool --module "$module" --list-slots 2>/dev/null | grep -c 'token label'; }

# Refusals first, on a module with no token yet.
refuse() {  # NAME STATUS PATTERN ARGS...
  local name=$1 want=$2 pattern=$3
  shift 3
  local before
  before=$(state)
  "$ca" token init "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  check "$name: exit $want ($rc), says '$pattern', nothing changed" \
    '[ $rc -eq $want ] && grep -q -- "$pattern" "$tmp/err" && [ ! -s "$tmp/out" ] && [ "$(state)" = "$before" ] && [ "$(labels)" = 0 ]'
  [ $rc -eq "$want" ] || sed 's/^/# /' "$tmp/err"
}
refuse "PIN file with mode 0644" 3 "has mode 0644: other users may read it" \
  --module "$module" --label fabric-ca --so-pin-file hsm/so.pin --pin-file hsm/wide.pin
refuse "SO PIN file with mode 0644" 3 "wide.pin' has mode 0644" \
  --module "$module" --label fabric-ca --so-pin-file hsm/wide.pin --pin-file hsm/user.pin
refuse "missing --label" 2 "label is required" \
  --module "$module" --so-pin-file hsm/so.pin --pin-file hsm/user.pin
refuse "empty --label" 2 "label" \
  --module "$module" --label "" --so-pin-file hsm/so.pin --pin-file hsm/user.pin
refuse "a 33-byte label" 2 "1 to 32 bytes" --module "$module" \
  --label 123456789012345678901234567890123 --so-pin-file hsm/so.pin --pin-file hsm/user.pin
refuse "empty PIN file" 3 "empty.pin' is empty" \
  --module "$module" --label fabric-ca --so-pin-file hsm/so.pin --pin-file hsm/empty.pin
refuse "missing PIN file" 6 "missing.pin" \
  --module "$module" --label fabric-ca --so-pin-file hsm/so.pin --pin-file hsm/missing.pin
refuse "no terminal and no --so-pin-file" 2 "give it in a 0600 file with --so-pin-file" \
  --module "$module" --label fabric-ca --pin-file hsm/user.pin
refuse "missing --module" 2 "module is required" \
  --label fabric-ca --so-pin-file hsm/so.pin --pin-file hsm/user.pin
refuse "a module that is not there" 5 "does not exist" \
  --module "$tmp/nope.so" --label fabric-ca --so-pin-file hsm/so.pin --pin-file hsm/user.pin
check "a PIN is not accepted as an argument" \
  '! "$ca" token init --help | grep -Eq -- "--(so-)?pin[ =]"'

# The token, made from the files.
"$ca" token init --module "$module" --label fabric-ca --so-pin-file hsm/so.pin \
  --pin-file hsm/user.pin >"$tmp/uri" 2>"$tmp/err"
rc=$?
want="pkcs11:token=fabric-ca;object=ca-key?module-path=$module&pin-source=file:$tmp/hsm/user.pin"
check "token init succeeds and prints only the key URI (absolute PIN file)" \
  '[ $rc -eq 0 ] && [ "$(cat "$tmp/uri")" = "$want" ]'
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
check "it warns that SoftHSMv2 is not crash-safe and to keep a backup" \
  'grep -q "warning: SoftHSMv2 rewrites token.object at every login" "$tmp/err" && grep -q "Back up the token folder" "$tmp/err"'
check "the token appears in pkcs11-tool --list-slots" \
  'pkcs11-tool --module "$module" --list-slots 2>/dev/null | grep -q "token label *: fabric-ca"'
check "the token is initialised with a user PIN" \
  'pkcs11-tool --module "$module" --list-slots 2>/dev/null | grep -A6 "token label *: fabric-ca" | grep -q "PIN initialized"'
check "no PIN in its output" '! grep -q -e 11223344 -e 55667788 "$tmp/uri" "$tmp/err"'
key=$(cat "$tmp/uri")
check "init-ca with the printed URI makes the CA key in the token" \
  '"$ca" init-ca --out ca --key "$key" >/dev/null 2>"$tmp/err" && [ -s ca/ca.pem ] && [ ! -e ca/ca-key.pem ]'
check "issue-cert signs with it as --ca-key" \
  '"$ca" issue-cert --ca-cert ca/ca.pem --ca-key "$key" --tenant acme --out acme >/dev/null 2>>"$tmp/err" && openssl verify -CAfile ca/ca.pem acme/client.pem >/dev/null'
[ "$fail" -eq 0 ] || sed 's/^/# /' "$tmp/err"

# A second token: the same label is refused, another works (relative PIN file, --json).
before=$(state)
"$ca" token init --module "$module" --label fabric-ca --so-pin-file hsm/so.pin \
  --pin-file hsm/user.pin >"$tmp/out" 2>"$tmp/err"
rc=$?
check "the same label again: exit 4, names the existing token, nothing changed" \
  '[ $rc -eq 4 ] && grep -q "a token labelled .fabric-ca. exists already" "$tmp/err" && [ "$(state)" = "$before" ]'
(cd hsm && "$ca" token init --module "$module" --label lab-ca --so-pin-file so.pin \
  --pin-file user.pin --object lab-key --json >"$tmp/json" 2>"$tmp/err")
check "--json names the token, its serial and the URI" \
  'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"token\"]==\"lab-ca\" and d[\"softhsm\"] is True and d[\"serial\"] and d[\"key_uri\"]==\"pkcs11:token=lab-ca;object=lab-key?module-path=$module&pin-source=file:$tmp/hsm/user.pin\"" "$tmp/json"'
check "two tokens are listed" '[ "$(labels)" -ge 2 ]'

# PINs typed at a terminal (a pseudo-terminal from util-linux's script): asked twice, not echoed;
# two different entries are refused before the module is touched.
if command -v script >/dev/null; then
  typed() {  # LABEL SO1 SO2 USER1 USER2
    local label=$1
    shift
    (sleep 1; for p in "$@"; do printf '%s\n' "$p"; sleep 0.3; done; sleep 1) |
      script -qec "'$ca' token init --module '$module' --label '$label'" /dev/null 2>&1 |
      tr -d '\r'
  }
  before=$(state)
  out=$(typed typo 11112222 11112223 33334444 33334444)
  check "typed PINs that differ are refused, nothing changed" \
    'grep -q "the two SO PIN entries differ; nothing was changed" <<<"$out" && [ "$(state)" = "$before" ]'
  out=$(typed typed 11112222 11112222 33334444 33334444)
  check "PINs typed at the terminal: asked twice each, never echoed" \
    'grep -q "^New SO PIN again: " <<<"$out" && grep -q "^New user PIN again: " <<<"$out" && ! grep -q -e 11112222 -e 33334444 <<<"$out"'
  check "the URI names no PIN file, and the typed user PIN signs" \
    'grep -qx "pkcs11:token=typed;object=ca-key?module-path=$module" <<<"$out" && GRAFOS_PKCS11_PIN=33334444 "$ca" init-ca --out typed-ca --key "pkcs11:token=typed;object=ca-key?module-path=$module" >/dev/null 2>"$tmp/err"'
  [ "$fail" -eq 0 ] || { sed 's/^/# /' <<<"$out"; sed 's/^/# /' "$tmp/err"; }
else
  echo "# script (util-linux) not installed: terminal prompts not checked"
fi

# A TPM through tpm2-pkcs11 (a software TPM here).
tpm_module=/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1
if command -v swtpm >/dev/null && [ -f "$tpm_module" ]; then
  tpm_dir=$tmp/tpm
  mkdir -p "$tpm_dir"
  if eval "$(sh "$src/tests/support/swtpm.sh" start "$tpm_dir")"; then
    "$ca" token init --module "$tpm_module" --label tpm-ca --so-pin-file hsm/so.pin \
      --pin-file hsm/user.pin >"$tmp/tpm-uri" 2>"$tmp/err"
    rc=$?
    check "tpm2-pkcs11: token init succeeds without a SoftHSM warning" \
      '[ $rc -eq 0 ] && grep -q "^pkcs11:token=tpm-ca;object=ca-key?module-path=$tpm_module&" "$tmp/tpm-uri" && ! grep -q SoftHSM "$tmp/err"'
    [ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
    check "tpm2-pkcs11: init-ca generates the CA key in the TPM" \
      '"$ca" init-ca --out tpm-ca --key "$(cat "$tmp/tpm-uri")" >/dev/null 2>"$tmp/err" && [ -s tpm-ca/ca.pem ]'
  else
    not_ok "swtpm did not start"
  fi
else
  echo "# swtpm or tpm2-pkcs11 not installed: TPM part skipped"
fi
echo "1..$n"
exit $fail
