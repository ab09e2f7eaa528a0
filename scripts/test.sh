#!/usr/bin/env bash
# The README's test command: install what is needed, build with warnings as errors, run every test,
# and close with "N passed, N failed" counted per test case from meson's JUnit log, keeping meson's
# exit code. GRAFOS_NO_SUMMARY=1 leaves the closing line to the caller (.ci/run). It configures
# the build folder as scripts/demo-ceremony.sh does (scripts/build-setup.sh: same folder, same
# options), so after the demo only what the demo did not build is compiled. For another build of
# the same suite (scripts/sanitize.sh): GRAFOS_BUILD_DIR (default build) and GRAFOS_SETUP_OPTIONS,
# meson -D options given after -Dwerror=true (the last of two wins).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/build-setup.sh  # the demo's configuration: its build folder is reused as it is
build=$grafos_build
junit=$build/meson-logs/testlog.junit.xml
summary() { [ "${GRAFOS_NO_SUMMARY:-0}" = 1 ] || python3 scripts/junit-summary.py "$junit"; }
if [ "${GRAFOS_SETUP_DRY_RUN:-0}" = 1 ]; then grafos_build_setup; exit 0; fi
rm -f "$junit"  # never count a previous run's results
if ! bash scripts/install-deps.sh all; then summary; exit 1; fi
if ! grafos_build_setup; then
  summary
  exit 1
fi
ninja -C "$build" || { summary; exit 1; }
meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" "$@"
rc=$?
summary
exit $rc
