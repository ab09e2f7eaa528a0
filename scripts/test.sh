#!/usr/bin/env bash
# The README's test command: install what is needed, build with warnings as errors, run every test,
# and close with "N passed, N failed" counted per test case from meson's JUnit log.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
if [ -d build ]; then
  meson setup --reconfigure build -Dwerror=true >/dev/null || exit 1
else
  meson setup build -Dwerror=true >/dev/null || exit 1
fi
ninja -C build || exit 1
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@"
rc=$?
python3 - build/meson-logs/testlog.junit.xml <<'PY'
import sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print(f"0 passed, 1 failed  (cannot read {sys.argv[1]}: {e})")
    sys.exit(0)
for tc in root.iter('testcase'):
    if tc.find('failure') is not None or tc.find('error') is not None:
        failed += 1
    elif tc.find('skipped') is not None:
        skipped += 1
    else:
        passed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
