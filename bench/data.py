"""Data benchmark: how fast bigbank (3,500 words) loads from its zip and from the cache, and how fast the
synthetic corpus is generated.

Targets (issue 3): bigbank uncached < 5 s, cached < 1 s on this machine. The cache lives in a temporary
directory, so every run measures a cold build first. Timings are the best of --repeats runs, wall clock with
CPU time beside it (the machine is shared). The last line is JSON with bigbank_load_s, bigbank_cached_load_s,
their ratio, and the synthetic generation rate in samples/s.

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


def best_seconds(run, repeats: int) -> tuple[float, float, object]:
    """Best wall-clock and CPU seconds over `repeats` runs, and the last result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


def verdict(name: str, value: float) -> str:
    return "ok" if value < TARGETS[name] else f"OVER the {TARGETS[name]:g} s target"


def bench_bigbank(repeats: int) -> dict:
    if not bigbank_path().is_file():
        print(f"bigbank: absent ({bigbank_path()}); its figures are null")
        return {"bigbank_load_s": None, "bigbank_cached_load_s": None, "cached_over_uncached": None}
    uncached_s, uncached_cpu, bigbank = best_seconds(
        lambda: load_source("bigbank", split="all", use_cache=False), repeats
    )
    start = time.perf_counter()
    load_source("bigbank", split="all")  # build and write the cache entry
    first_s = time.perf_counter() - start
    cached_s, cached_cpu, cached = best_seconds(lambda: load_source("bigbank", split="all"), repeats)
    assert len(cached) == len(bigbank)
    points = sum(len(s) for s in bigbank)
    ratio = cached_s / uncached_s
    print(f"bigbank: {len(bigbank):,} samples, {points:,} points, dropped: {bigbank.dropped or 'none'}")
    row = "  {:<24}  {:7.3f} s  cpu {:6.3f} s  {}"
    print(
        row.format(
            "load from zip (no cache)", uncached_s, uncached_cpu, verdict("bigbank_load_s", uncached_s)
        )
    )
    print(f"  first load + cache write  {first_s:7.3f} s")
    print(row.format("load from cache", cached_s, cached_cpu, verdict("bigbank_cached_load_s", cached_s)))
    print(f"  cached / uncached         {ratio:7.4f}    ({1 / ratio:.0f}x faster)")
    return {
        "bigbank_load_s": round(uncached_s, 4),
        "bigbank_cached_load_s": round(cached_s, 4),
        "cached_over_uncached": round(ratio, 5),
        "bigbank_load_cpu_s": round(uncached_cpu, 4),
    }


def bench_hershey(n: int, repeats: int) -> dict:
    warm_s, _, _ = best_seconds(lambda: load_source("hershey", n=4, seed=99, use_cache=False), 1)
    gen_s, gen_cpu, synthetic = best_seconds(lambda: load_source("hershey", n=n, seed=1, use_cache=False), 1)
    load_source("hershey", n=n, seed=1)
    cached_s, _, _ = best_seconds(lambda: load_source("hershey", n=n, seed=1), repeats)
    points = sum(len(s) for s in synthetic)
    chars = sum(len(s.text.replace(" ", "")) for s in synthetic)
    print(f"hershey: fonts and word lists load once, {warm_s:.2f} s")
    print(f"  {n} samples generated     {gen_s:7.3f} s  cpu {gen_cpu:6.3f} s  = {n / gen_s:,.0f} samples/s")
    print(f"  points per character      {points / chars:7.1f}")
    print(f"  load from cache           {cached_s:7.3f} s  ({gen_s / cached_s:.0f}x faster than generating)")
    return {
        "hershey_samples_per_s": round(n / gen_s, 1),
        "hershey_samples_per_cpu_s": round(n / gen_cpu, 1),
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
