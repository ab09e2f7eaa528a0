#!/usr/bin/env bash
# The README's two commands: scripts/install-deps.sh's package lists are split (the demo installs
# runtime + build, never the test tools), and scripts/demo-ceremony.sh and scripts/test.sh
# configure the same build folder with the same options (so the test command reuses the demo's
# build). TAP output.
#   env: GRAFOS_SOURCE_ROOT (set by meson test)
set -uo pipefail
src=${GRAFOS_SOURCE_ROOT:?run under meson test}
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
deps() { bash "$src/scripts/install-deps.sh" --print "$@"; }

runtime=$(deps runtime)
build=$(deps build)
tests=$(deps test)
ceremony=$(deps runtime build)
check "runtime list names the key backends" \
  'grep -qx softhsm2 <<<"$runtime" && grep -qx libp11-3 <<<"$runtime" && grep -qx tpm2-openssl <<<"$runtime"'
check "build list names the compiler and meson" 'grep -qx meson <<<"$build" && grep -qx g++ <<<"$build"'
for p in nginx-light wrk testssl.sh gnutls-bin botan swtpm clang; do
  check "test list has $p" 'grep -qx "$p" <<<"$tests"'
  check "runtime + build (the demo's) leave out $p" '! grep -qx "$p" <<<"$ceremony"'
done
check "all = runtime + build + test" \
  '[ "$(deps all | sort)" = "$(printf "%s\n%s\n%s\n" "$runtime" "$build" "$tests" | sort -u)" ]'
check "no group = all" '[ "$(deps)" = "$(deps all)" ]'
check "an unknown group is a usage error" \
  'out=$(deps bogus 2>&1); [ $? -eq 2 ] && grep -q "unknown group" <<<"$out"'
check "the demo installs runtime + build only" \
  'grep -q "install-deps.sh runtime build$" "$src/scripts/demo-ceremony.sh" &&
   ! grep -Eq "install-deps.sh( all)?$" "$src/scripts/demo-ceremony.sh"'
check "the test command installs all" 'grep -q "install-deps.sh all" "$src/scripts/test.sh"'

# The meson command each script would run, for a fresh folder and for an existing one.
setup_of() { (cd "$src" && GRAFOS_SETUP_DRY_RUN=1 GRAFOS_BUILD_DIR="$1" bash "scripts/$2"); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "$tmp/fresh" "$tmp"; do
  demo=$(setup_of "$dir" demo-ceremony.sh)
  test=$(setup_of "$dir" test.sh)
  check "demo and test configure $(basename "$dir") alike: '$demo'" \
    '[ -n "$demo" ] && [ "$demo" = "$test" ] && grep -q -- "-Dwerror=true" <<<"$demo"'
done
check "an existing build folder is reconfigured in place" \
  'grep -q -- "--reconfigure $tmp " <<<"$(setup_of "$tmp" test.sh) "'
check "the default build folder is build/ for both" \
  '[ "$(cd "$src" && GRAFOS_SETUP_DRY_RUN=1 bash scripts/demo-ceremony.sh | awk "{print \$NF == \"-Dwerror=true\" ? \$(NF-1) : \"\"}")" = build ]'
echo "1..$n"
exit $fail
