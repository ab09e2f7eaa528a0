#!/usr/bin/env bash
# The whole test suite once more, with every grafos binary built under AddressSanitizer and
# UndefinedBehaviorSanitizer (GCC's). Not part of .ci/run: the build takes about 18 minutes on
# 2 cores and the run about 3.
# Usage: bash scripts/sanitize.sh [BUILD_DIR]   (default build-sanitize)
#
# - The C++ runtime is linked dynamically here (-Dstatic_cxx_runtime=false): the sanitizers
#   need it so.
# - Warnings are not errors in this build only: GCC 12 under -fsanitize reports a
#   maybe-uninitialized false positive inside libstdc++'s <regex>, which the tests use.
# - Any sanitizer report in a grafos process makes it exit non-zero, so the test that ran it
#   fails; UBSan halts at its first report. The tests' LD_PRELOAD fault shim is loaded before
#   the ASan runtime, hence verify_asan_link_order=0.
# - Leak detection is off: two tests run grafos-ca under strace (no core dumps, no sockets), where
#   LeakSanitizer cannot run, and the tpm2-pkcs11 module leaks inside its C_Sign (1,452 bytes
#   over the conformance suite's 22 signatures; the stack ends in the unloaded module).
#   For a leak check of grafos' own processes, run a suite by hand with
#   ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0, e.g. --suite cli or --suite unit.
set -uo pipefail
cd "$(dirname "$0")/.."
# scripts/test.sh installs, configures, builds and runs the suite; only the build differs here.
export GRAFOS_BUILD_DIR=${1:-build-sanitize}
GRAFOS_SETUP_OPTIONS="-Db_sanitize=address,undefined -Db_lundef=false"
export GRAFOS_SETUP_OPTIONS="$GRAFOS_SETUP_OPTIONS -Dstatic_cxx_runtime=false -Dwerror=false"
export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec bash scripts/test.sh --timeout-multiplier 4
