#!/usr/bin/env bash
# Runs `grafos-ca image-provenance verify` over every vector in tests/data/provenance/: each
# <name>_fail must exit with its expected non-zero status and name its reason on stderr, each
# <name>_pass must exit 0. The vectors are made by tests/data/provenance/generate.py.
. "$(dirname "$0")/lib.sh"

VEC=${GRAFOS_SOURCE_ROOT:?}/tests/data/provenance
nfail=0
for dir in "$VEC"/*_fail "$VEC"/*_pass; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  mapfile -t args <"$dir/args"
  want=$(cat "$dir/status")
  reason=$(cat "$dir/expect")
  if [[ $name == *_fail ]]; then
    nfail=$((nfail + 1))
    if [ "$want" -eq 0 ]; then
      tap_result 1 "$name" "a _fail vector must expect a non-zero status"
      continue
    fi
  fi
  cd "$dir" || exit 1
  check "$name (exit $want${reason:+, \"$reason\"})" "$want" "$reason" \
    "$GRAFOS_CA" image-provenance verify --input input.json "${args[@]}"
  cd - >/dev/null || exit 1
done
ok_if "at least 20 negative vectors ($nfail)" test "$nfail" -ge 20
tap_done
