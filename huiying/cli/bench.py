"""Benchmark suites for `huiying bench NAME --json` and `make bench`.

Each figure stands beside a baseline measured in the same run, so a noisy shared machine
moves both; the ratio is what to compare between runs.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from huiying.errors import InputError


def _machine() -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}",
            "commit": commit or "unknown"}


def _rate(fn: Callable[[], int], min_seconds: float = 1.0) -> float:
    """Items per second of fn (which returns how many items it handled), best of 3 runs."""
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while True:
            count += fn()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = max(best, count / elapsed)
    return best


def _texts(limit: int = 400) -> list[str]:
    from crawler.demo import load_posts

    base, later = load_posts()
    return [f"{p['title']} {p['body']}" for p in [*base, *later]][:limit]


def bench_analysis() -> dict:
    """Full analyse step versus stock SnowNLP sentiment alone, on the same texts."""
    from analysis import analyse_many
    from analysis.sentiment import get_engine

    texts = _texts()
    analyse_many(texts[:5])  # load every model before timing
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the issue asks
    full = _rate(lambda: len(analyse_many(texts)))
    worker_rss = _peak_rss_mb()  # what a worker holds: SnowNLP is not loaded yet
    snownlp = get_engine("snownlp")
    baseline = _rate(lambda: len(snownlp.predict_proba(texts)))
    return {"suite": "analysis", "texts": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts)),
            "full_analyse_texts_per_s": round(full, 1),
            "baseline_snownlp_texts_per_s": round(baseline, 1),
            "ratio": round(full / baseline, 2),
            "peak_rss_mb_all_models": worker_rss, **_machine()}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far: every model is loaded by then."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_crawl() -> dict:
    from huiying.bench_crawl import bench_crawl as run

    return run(_machine())


def bench_dashboard() -> dict:
    from huiying.bench_dashboard import bench_dashboard as run

    return run(_machine())


def bench_pipeline() -> dict:
    from huiying.bench_pipeline import bench_pipeline as run

    return run(_machine())


SUITES: dict[str, Callable[[], dict]] = {"analysis": bench_analysis, "crawl": bench_crawl,
                                         "dashboard": bench_dashboard, "pipeline": bench_pipeline}


def run_suite(name: str) -> dict:
    if name not in SUITES:
        raise InputError(f"no benchmark suite {name!r}; choose one of: {', '.join(SUITES)}.")
    return SUITES[name]()
