#!/usr/bin/env bash
# The README's test command: install what is needed, build with warnings as errors, run every test,
# and close with "N passed, N failed" counted per test case from meson's JUnit log, keeping meson's
# exit code. GRAFOS_NO_SUMMARY=1 leaves the closing line to the caller (.ci/run). For another
# build of the same suite (scripts/sanitize.sh): GRAFOS_BUILD_DIR (default build) and
# GRAFOS_SETUP_OPTIONS, meson -D options given after -Dwerror=true (the last of two wins).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${GRAFOS_BUILD_DIR:-build}
# -d "": the whole value, so that options on a second line are not dropped (status 1 at its end).
read -ra setup_opts -d "" <<<"-Dwerror=true ${GRAFOS_SETUP_OPTIONS:-}" || true
junit=$build/meson-logs/testlog.junit.xml
summary() { [ "${GRAFOS_NO_SUMMARY:-0}" = 1 ] || python3 scripts/junit-summary.py "$junit"; }
rm -f "$junit"  # never count a previous run's results
if ! bash scripts/install-deps.sh; then summary; exit 1; fi
reconfigure=()
[ -d "$build" ] && reconfigure=(--reconfigure)
# meson's configuration report only when it fails (a bad -D option, a missing dependency).
if ! out=$(meson setup "${reconfigure[@]}" "$build" "${setup_opts[@]}" 2>&1); then
  printf '%s\n' "$out" | tail -n 20 >&2
  summary
  exit 1
fi
ninja -C "$build" || { summary; exit 1; }
meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" "$@"
rc=$?
summary
exit $rc
