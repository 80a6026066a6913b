#!/usr/bin/env python3
"""callees.py — where a function's time goes, from `perf record --call-graph dwarf` samples.

  perf script -i perf.data | python3 callees.py FUNC [FUNC...]

For each FUNC: the share of all samples with FUNC on the stack (inclusive), then the same split
by FUNC's direct callee ("(self)" = FUNC itself). Percentages are of all samples of the process,
so they add up across threads. Used by bench/send/run.sh (PROFILE=1)."""
import collections
import re
import sys

targets = sys.argv[1:]
samples = 0
kids = {t: collections.Counter() for t in targets}
incl = collections.Counter()
stack = []
def flush():
    global samples
    if not stack: return
    samples += 1
    # stack[0] is leaf
    seen = set()
    for i, f in enumerate(stack):
        if f in kids and f not in seen:
            seen.add(f)
            incl[f] += 1
            child = stack[i-1] if i > 0 else "(self)"
            kids[f][child] += 1
for line in sys.stdin:
    if not line.strip():
        flush(); stack = []; continue
    if line.startswith((" ", "\t")):
        parts = line.split()
        if len(parts) >= 2:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", parts[1])
            stack.append(sym)
flush()
if not samples:
    sys.exit("callees.py: no samples")
for t in targets:
    print("%s: %.1f%% of all samples" % (t, 100.0 * incl[t] / samples))
    for c, n in kids[t].most_common(14):
        print("    %5.1f%%  %s" % (100.0 * n / samples, c))
