"""Data benchmark: how fast bigbank (3,500 words) loads from its zip and from the cache, and how fast the
synthetic corpus is generated.

Targets (issue 3): bigbank uncached < 5 s, cached < 1 s on this machine. The cache lives in a temporary
directory, so every run measures a cold build first. Timings are the best of --repeats runs. The last line is
JSON with bigbank_load_s, bigbank_cached_load_s, their ratio, and the synthetic rate in samples/s.

    .venv/bin/python bench/data.py [--repeats 3] [--hershey-n 500]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from trajtok.data import bigbank_path, load_source

TARGETS = {"bigbank_load_s": 5.0, "bigbank_cached_load_s": 1.0}


def best_seconds(run, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def verdict(name: str, value: float) -> str:
    return "ok" if value < TARGETS[name] else f"OVER the {TARGETS[name]:g} s target"


def bench_bigbank(repeats: int) -> dict:
    if not bigbank_path().is_file():
        print(f"bigbank: absent ({bigbank_path()}); its figures are null")
        return {"bigbank_load_s": None, "bigbank_cached_load_s": None, "cached_over_uncached": None}
    uncached_s, bigbank = best_seconds(lambda: load_source("bigbank", split="all", use_cache=False), repeats)
    start = time.perf_counter()
    load_source("bigbank", split="all")  # build and write the cache entry
    first_s = time.perf_counter() - start
    cached_s, cached = best_seconds(lambda: load_source("bigbank", split="all"), repeats)
    assert len(cached) == len(bigbank)
    points = sum(len(s) for s in bigbank)
    print(f"bigbank: {len(bigbank):,} samples, {points:,} points, dropped: {bigbank.dropped or 'none'}")
    print(f"  load from zip (no cache)   {uncached_s:7.3f} s   {verdict('bigbank_load_s', uncached_s)}")
    print(f"  first load + cache write   {first_s:7.3f} s")
    print(f"  load from cache            {cached_s:7.3f} s   {verdict('bigbank_cached_load_s', cached_s)}")
    ratio = cached_s / uncached_s
    print(f"  cached / uncached          {ratio:7.4f}   ({1 / ratio:.0f}x faster)")
    return {
        "bigbank_load_s": round(uncached_s, 4),
        "bigbank_cached_load_s": round(cached_s, 4),
        "cached_over_uncached": round(ratio, 5),
    }


def bench_hershey(n: int, repeats: int) -> dict:
    gen_s, synthetic = best_seconds(lambda: load_source("hershey", n=n, seed=1, use_cache=False), 1)
    load_source("hershey", n=n, seed=1)
    cached_s, _ = best_seconds(lambda: load_source("hershey", n=n, seed=1), repeats)
    points = sum(len(s) for s in synthetic)
    chars = sum(len(s.text.replace(" ", "")) for s in synthetic)
    rate, point_rate = n / gen_s, points / gen_s
    print(
        f"hershey: {n} samples generated in {gen_s:.2f} s = {rate:,.0f} samples/s, {point_rate:,.0f} points/s"
    )
    print(f"  points per character       {points / chars:7.1f}")
    print(
        f"  load from cache            {cached_s:7.3f} s   ({gen_s / cached_s:.0f}x faster than generating)"
    )
    return {
        "hershey_samples_per_s": round(rate, 1),
        "hershey_points_per_char": round(points / chars, 2),
        "hershey_cached_load_s": round(cached_s, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hershey-n", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trajtok-bench-cache-") as cache:
        os.environ["TRAJTOK_CACHE"] = cache
        figures = {**bench_bigbank(args.repeats), **bench_hershey(args.hershey_n, args.repeats)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
