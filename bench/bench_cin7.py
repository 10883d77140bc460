"""Sustained call rate of the Cin7 Core store's writes against the local fake that allows 60 calls a window.

The fake and our client share a scaled window (``--window``, default 2 s standing for Cin7's
60 s), so a 60-calls-a-minute run takes seconds. Each product costs two calls (a fresh read, then
the write). The rate is reported per real minute (calls per window × 60 / window) and must be at
least 54 calls/minute (90 % of the limit), with no call over the limit (no throttled answers).

    python bench/bench_cin7.py                 # 300 updates + 60 creates, 2 s window
    python bench/bench_cin7.py --writes 600 --window 1 --json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the repository's inventory_tools and tests.fakes

TARGET_PER_MINUTE = 54.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=300, help="products to update (plus a fifth as many creates)")
    ap.add_argument("--window", type=float, default=2.0, help="seconds standing for Cin7's 60 s window")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)

    from tests.fakes.cin7_server import FakeCin7

    fake = FakeCin7(window=args.window, calls=60).start()
    with tempfile.TemporaryDirectory() as state_dir:
        os.environ.update(fake.env())
        os.environ["INVENTORY_TOOLS_STATE_DIR"] = state_dir
        import pandas as pd

        from inventory_tools import columns as cols
        from inventory_tools.changes import CellChange, ChangeSet
        from inventory_tools.stores.cin7 import Cin7Store

        n_up, n_new = args.writes, max(1, args.writes // 5)
        for i in range(n_up):
            fake.add_product(SKU=f"B{i:06d}", Name=f"Bench {i}", PriceTier1=Decimal("1"))
        updates = [CellChange(f"B{i:06d}", "PriceTier1", "1", f"{i}.25") for i in range(n_up)]
        creates = pd.DataFrame([{n: "" for n in cols.names()} | {"ProductCode": f"N{i:06d}", "Name": f"New {i}"}
                                for i in range(n_new)], columns=list(cols.names())).astype(object)
        store = Cin7Store.from_env()
        try:
            t0 = time.monotonic()
            out = store.apply(ChangeSet(creates=creates, updates=updates), kind="import", source="bench",
                              base_export_id=None, counts={})
            elapsed = time.monotonic() - t0
        finally:
            store.close()
    writes = fake.writes()
    calls = [c for c in fake.calls if c.outcome == "answered"]
    fake.stop()
    span = calls[-1].t - calls[0].t if len(calls) > 1 else elapsed
    # calls per window = calls per minute at Cin7's real 60 s window
    per_minute = (len(calls) - 1) / span * args.window if span > 0 else float("inf")
    throttled = sum(1 for c in fake.calls if c.outcome == "throttled")
    result = {
        "writes": len(writes), "calls": len(calls), "failed": len(out.failed), "window_seconds": args.window,
        "elapsed_seconds": round(elapsed, 3), "calls_per_minute": round(per_minute, 2),
        "max_calls_in_any_window": fake.max_in_window(), "throttled": throttled,
        "target_per_minute": TARGET_PER_MINUTE,
    }
    ok = (per_minute >= TARGET_PER_MINUTE and throttled == 0 and not out.failed
          and result["max_calls_in_any_window"] <= 60 and len(writes) == n_up + n_new
          and len(calls) <= 2 * (n_up + n_new))
    result["ok"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(writes)} writes ({len(calls)} calls) in {elapsed:.2f}s ({args.window:g}s window): "
              f"{per_minute:.1f} calls/minute (target ≥ {TARGET_PER_MINUTE:g}), "
              f"max {result['max_calls_in_any_window']} in any window, {throttled} throttled → "
              f"{'OK' if ok else 'TOO SLOW / OVER THE LIMIT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
