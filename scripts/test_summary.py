#!/usr/bin/env python3
"""test_summary.py — read meson's testlog.json files and print one closing line
"N passed, N failed" counting test cases: each TAP line ("ok"/"not ok") of a TAP test, or the
test itself when it does not speak TAP. Exits 1 when anything failed or nothing ran."""
import json
import re
import sys


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        try:
            lines = open(path).read().splitlines()
        except OSError as e:
            print(f"test_summary: cannot read {path}: {e}", file=sys.stderr)
            failed += 1
            continue
        for line in lines:
            t = json.loads(line)
            out = t.get("stdout") or ""
            oks = len(re.findall(r"^ok \d+", out, re.M))
            skips = len(re.findall(r"^ok \d+.*# ?SKIP", out, re.M | re.I))
            bad = len(re.findall(r"^not ok \d+", out, re.M))
            result = t.get("result")
            if oks or bad:
                passed += oks - skips
                skipped += skips
                failed += bad
                if result not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
                    failed += 1  # crashed or timed out after its last TAP line
                    print(f"test_summary: {t.get('name')} ended {result}", file=sys.stderr)
            elif result == "SKIP":
                skipped += 1
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
                print(f"test_summary: {t.get('name')} ended {result}", file=sys.stderr)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
