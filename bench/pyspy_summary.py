"""Summarise a py-spy profile (``--format raw --threads``) per thread: where each thread's samples
went, inclusive (a function and what it calls) and by leaf (the frame actually running).

    py-spy record --format raw --threads --rate 200 -o /tmp/validate.raw -- \\
        python -m inventory_tools --store STORE validate EDITED.xlsx --json > /dev/null
    python bench/pyspy_summary.py /tmp/validate.raw [--rate 200] [--top 25] [--match inventory_tools]

Seconds are samples / rate (py-spy samples every thread, idle ones included, unless --idle off).
"""
from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict

_LINE = re.compile(r"(.*) (\d+)$")
_FRAME = re.compile(r"^(.*) \((.*?):\d+\)$")  # "fn (path/file.py:123)"


def frame_name(frame: str) -> str:
    m = _FRAME.match(frame)
    return f"{m.group(1)} ({m.group(2)})" if m else frame


def summarise(path: str, rate: float, top: int, match: str) -> None:
    per_thread: dict[str, Counter] = defaultdict(Counter)
    leaf: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for line in open(path, encoding="utf-8"):
        m = _LINE.match(line.rstrip("\n"))
        if not m:
            continue
        stack, n = m.group(1).split(";"), int(m.group(2))
        thread = re.sub(r"\(\d+\)", "", stack[0]).strip()
        frames = [frame_name(f) for f in stack[1:]]
        totals[thread] += n
        for f in dict.fromkeys(frames):  # inclusive: once per stack
            per_thread[thread][f] += n
        if frames:
            leaf[thread][frames[-1]] += n
    for thread, total in totals.most_common():
        print(f"\n## {thread}: {total / rate:.2f} s sampled")
        print("inclusive (functions matching %r):" % match)
        shown = [(f, n) for f, n in per_thread[thread].most_common() if match in f][:top]
        for f, n in shown:
            print(f"  {n / rate:7.2f} s  {f}")
        print("leaf frames:")
        for f, n in leaf[thread].most_common(top // 2):
            print(f"  {n / rate:7.2f} s  {f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--match", default="inventory_tools")
    a = ap.parse_args()
    summarise(a.raw, a.rate, a.top, a.match)
