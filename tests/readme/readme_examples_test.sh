#!/usr/bin/env bash
# README examples: every ```sh block marked with <!-- readme-test --> in README.md, run in order
# as one script from an empty temporary folder, with the built grafos-ca, grafos-admin and
# grafos-registry first on PATH and no SoftHSM configuration but the one the README makes there.
# The examples must run as written, each producing the files the next one uses.
#   env: GRAFOS_SOURCE_ROOT, GRAFOS_BUILD_ROOT (set by meson test)
set -euo pipefail
src=${GRAFOS_SOURCE_ROOT:?run under meson test}
build=${GRAFOS_BUILD_ROOT:?run under meson test}
for t in grafos-ca grafos-admin grafos-registry; do
  [ -x "$build/tools/$t/$t" ] || { echo "1..0 # SKIP $t not built"; exit 77; }
done
tmp=$(mktemp -d)
pgid=""
cleanup() {
  [ -n "$pgid" ] && kill -- "-$pgid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# The marked blocks, in README order; at least the seven the README has today. Every ```sh
# block is marked: <!-- readme-test --> (run here) or <!-- readme-test: not run here: WHY -->, so
# a new example cannot escape this test unnoticed.
python3 - "$src/README.md" >"$tmp/examples.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for m in re.finditer(r"(?m)^```sh$", text):
    before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
    if not re.fullmatch(r"<!-- readme-test( -->|: not run here: .+ -->)", before):
        line = text.count("\n", 0, m.start()) + 1
        sys.exit(f"README.md:{line}: a ```sh block without a readme-test marker")
blocks = re.findall(r"<!-- readme-test -->\n```sh\n(.*?)```", text, re.S)
if len(blocks) < 7:
    sys.exit(f"README.md: {len(blocks)} marked example blocks, expected at least 7")
for i, b in enumerate(blocks, 1):
    print(f"# --- README example block {i}")
    print(b)
PY
mkdir "$tmp/run"
unset SOFTHSM2_CONF GRAFOS_PKCS11_PIN GRAFOS_KEY_PASSPHRASE
export PATH="$build/tools/grafos-ca:$build/tools/grafos-admin:$build/tools/grafos-registry:$PATH"
# Its own process group, so that a server the examples start and a failure leaves running is
# stopped with it.
(cd "$tmp/run" && exec setsid bash -euo pipefail -x "$tmp/examples.sh") >"$tmp/out" 2>&1 &
pid=$!
pgid=$pid
if ! wait "$pid"; then
  echo "README examples failed; their output:" >&2
  cat "$tmp/out" >&2
  exit 1
fi
pgid=""
# What the examples promise, checked after the fact.
run=$tmp/run
fail=0
for f in hsm/tokens.backup ca/ca.pem ca/crl.pem acme/client.pem server/server.pem \
  cells/cell-gcp-europe-2/client.pem globex/client.pem file-ca/ca-key.pem \
  provenance.sigstore.json; do
  [ -e "$run/$f" ] || { echo "README examples did not make $f" >&2; fail=1; }
done
[ ! -e "$run/ca/ca-key.pem" ] || { echo "the token CA wrote a key file" >&2; fail=1; }
if [ "$(stat -c %a "$run/hsm/user.pin")" != 600 ]; then
  echo "hsm/user.pin is not 0600" >&2
  fail=1
fi
grep -q "pkcs11:token=fabric-ca;object=ca-key?module-path=" "$tmp/out" ||
  { echo "token init printed no key reference" >&2; fail=1; }
[ "${GRAFOS_README_VERBOSE:-0}" = 1 ] && cat "$tmp/out"
echo "README examples: $(grep -c '^# --- README example block' "$tmp/examples.sh") blocks ran"
exit $fail
