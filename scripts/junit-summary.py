#!/usr/bin/env python3
"""Prints the closing line 'N passed, N failed' counted per test case from meson's JUnit log.

A missing or unreadable log (the build failed before any test ran) counts as one failure, so the
line is always printed. Usage: junit-summary.py [build/meson-logs/testlog.junit.xml]
"""
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.junit.xml"
passed = failed = skipped = 0
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError) as e:
    print(f"# cannot read {path}: {e}", file=sys.stderr)
    failed = 1
else:
    for tc in root.iter("testcase"):
        if tc.find("failure") is not None or tc.find("error") is not None:
            failed += 1
        elif tc.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
