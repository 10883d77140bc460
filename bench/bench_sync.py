"""Benchmark: sync of 5,000 items against the local fake Xero, vs what the rate limit requires.

    python bench/bench_sync.py [--items 5000] [--window 2] [--limit 60] [--json]

Two runs, each through the library against tests/fakes/xero_server.py over real HTTP:

* pull: Xero holds N untracked items, the store is empty → ``sync --since`` loads them all with one
  Items GET (plus TaxRates) and makes no other API call;
* push: the store holds N Active products, Xero none of them → ``sync --push-only`` links with one
  Items GET, maps taxes with one TaxRates GET and writes in ⌈N/50⌉ POSTs, each batch after the first
  built from a fresh If-Modified-Since read (⌈N/50⌉ - 1 GETs, each answered with what changed).

The window is scaled (default 60 calls per 2 s instead of per 60 s, as in the tests); the floor is
the time the fixed-window limit forces: ``(⌈calls / limit⌉ - 1) × window``. Exit 1 when a run
makes more calls than the minimum or takes longer than floor + one window + 5 s of work.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository's inventory_tools and tests.fakes


def serve(conn, window: float, limit: int) -> None:
    """The fake Xero in its own process, so its work does not share our interpreter's GIL."""
    from tests.fakes.xero_server import FakeXero

    with FakeXero(window=window, minute_limit=limit, seed=False, day_limit=10**6) as fx:
        conn.send((fx.url, fx.client_id, fx.client_secret))
        while True:
            cmd, arg = conn.recv()
            if cmd == "add_items":
                fx.add_items(arg, prefix="PULL", updated_ms=1_700_000_000_000)
                conn.send(None)
            elif cmd == "calls":
                conn.send([(c["method"], c["path"], c["status"]) for c in fx.api_calls()])
                fx.calls.clear()
            else:
                conn.send(None)
                return


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--window", type=float, default=2.0, help="seconds per rate window (Xero: 60)")
    ap.add_argument("--limit", type=int, default=60, help="calls per window (Xero: 60)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import multiprocessing as mp

    import pandas as pd

    from inventory_tools import columns as cols
    from inventory_tools.http import RatePolicy
    from inventory_tools.changes import ChangeSet
    from inventory_tools.stores.sqlite import SqliteStore
    from inventory_tools.syncing import sync
    from inventory_tools.xero.api import BATCH_SIZE, XeroClient

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=serve, args=(child, args.window, args.limit), daemon=True)
    server.start()
    url, client_id, client_secret = parent.recv()
    results = {}

    def client():
        return XeroClient(client_id=client_id, client_secret=client_secret, api_base=url, identity_base=url,
                          policy=RatePolicy(calls=args.limit, per_seconds=args.window))

    def judge(name, report, seconds, minimum):
        parent.send(("calls", None))
        api_calls = parent.recv()
        floor = (math.ceil(len(api_calls) / args.limit) - 1) * args.window
        by_call: dict = {}
        for method, path, _ in api_calls:
            by_call[f"{method} {path}"] = by_call.get(f"{method} {path}", 0) + 1
        ok = len(api_calls) <= minimum and seconds <= floor + args.window + 5.0
        results[name] = {"items": args.items, "seconds": round(seconds, 2), "api_calls": len(api_calls),
                         "minimum_calls": minimum, "by_call": by_call, "rate_limit_floor_seconds": floor,
                         "over_floor_seconds": round(seconds - floor, 2), "rate_limited": report.rate_limited,
                         "ok": ok}
        return ok

    with tempfile.TemporaryDirectory() as tmp:
        # pull: N untracked items in Xero, an empty store
        parent.send(("add_items", args.items))
        parent.recv()
        store = SqliteStore(Path(tmp) / "pull.db")
        started = time.perf_counter()
        report = sync(store, since="2020-01-01", client=client())
        seconds = time.perf_counter() - started
        assert len(report.loaded) == args.items, len(report.loaded)
        ok_pull = judge("pull", report, seconds, minimum=2)
        store.close()

        # push: N Active products, none of them in Xero yet
        store = SqliteStore(Path(tmp) / "push.db")
        names = list(cols.names())
        rows = [{**{n: "" for n in names}, "ProductCode": f"PUSH{i:05d}", "Name": f"Product {i}", "Status": "Active",
                 "PriceTier1": f"{i}.25", "SaleTaxRule": "GST on Income", "RevenueAccount": "200"}
                for i in range(args.items)]
        store.apply(ChangeSet(creates=pd.DataFrame(rows, columns=names).astype(object)), kind="import",
                    source="bench", base_export_id=None, counts={})
        started = time.perf_counter()
        report = sync(store, push_only=True, client=client())
        seconds = time.perf_counter() - started
        assert len(report.pushed) == args.items and not report.rejected, (len(report.pushed), report.rejected[:3])
        batches = math.ceil(args.items / BATCH_SIZE)
        ok_push = judge("push", report, seconds, minimum=2 + batches + (batches - 1))
        store.close()
    parent.send(("stop", None))
    parent.recv()
    server.join(5)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, r in results.items():
            print(f"{name}: {r['items']} items in {r['seconds']} s with {r['api_calls']} API calls "
                  f"(minimum {r['minimum_calls']}; {r['by_call']}); the rate limit alone requires "
                  f"{r['rate_limit_floor_seconds']} s → {r['over_floor_seconds']} s beyond it"
                  f"{'' if r['ok'] else '  ✗ TARGET MISSED'}")
    return 0 if ok_pull and ok_push else 1


if __name__ == "__main__":
    raise SystemExit(main())
