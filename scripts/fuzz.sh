#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang -fsanitize=fuzzer,address,undefined in
# their own build directory and runs each over a copy of its committed seed corpus for SECONDS
# (default 300; 0 builds and runs the seeds once). New inputs libFuzzer finds stay in the work
# directory (<build dir>/fuzz-work/<target>), never in the source tree; a crash leaves its
# reproducer there and makes the script exit 1.
#
#   scripts/fuzz.sh [--build-dir DIR] [--targets "identity key_ref"] [SECONDS]
#
# Exit status: 0 every target ran without a crash, 1 a target crashed (or failed to build),
# 2 usage, 77 clang with libFuzzer is not installed (Debian: clang, libclang-rt-14-dev).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$src/build-fuzz"
targets="identity key_ref admin_wire provenance registry_request"
seconds=300
while (($#)); do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) seconds="$1"; shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number" >&2; exit 2; }

# libFuzzer present? (the compiler alone is not enough: the runtime comes with libclang-rt-*-dev)
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
  > "$probe/p.cpp"
if ! command -v clang++ >/dev/null ||
   ! clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  echo "fuzz.sh: clang++ with libFuzzer is not available (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi

if [ ! -f "$build/build.ninja" ]; then
  setup_log="$probe/setup.log"
  # Coverage instrumentation and the sanitizers for every library the targets link; the targets
  # themselves link libFuzzer (tests/fuzz/meson.build). No -Werror: this is not the warning build.
  CC=clang CXX=clang++ meson setup "$build" "$src" \
    -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dstatic_cxx_runtime=false -Dtests=enabled \
    -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link >"$setup_log" 2>&1 ||
    { tail -n 40 "$setup_log" >&2; exit 1; }
fi
names=()
for t in $targets; do names+=("tests/fuzz/${t}_fuzz"); done
ninja -C "$build" -j"${FUZZ_JOBS:-2}" "${names[@]}" >"$build/fuzz-build.log" 2>&1 ||
  { tail -n 40 "$build/fuzz-build.log" >&2; exit 1; }

status=0
for t in $targets; do
  work="$build/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -n "$src/tests/fuzz/corpus/$t/"* "$work/corpus/" 2>/dev/null || true
  log="$work/fuzz.log"
  limit=(-max_total_time="$seconds")
  ((seconds > 0)) || limit=(-runs=0)  # 0: the seeds once
  echo "== $t: ${seconds}s"
  # -rss_limit_mb and -max_len keep a run bounded; -use_value_profile helps reach the grammars.
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
     "$build/tests/fuzz/${t}_fuzz" "${limit[@]}" -rss_limit_mb=2048 -max_len=65536 \
       -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
       "$work/corpus" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb' "$log" |
      sed "s/^/   /"
  else
    status=1
    echo "   CRASH or error: see $log and $work/artifacts/" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5 | sed "s/^/   /" >&2
  fi
done
exit "$status"
