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
    """Crawl + store of the demo board versus plain sequential fetches of the same pages."""
    import json
    import sys
    import tempfile
    import urllib.request

    import yaml

    from crawler.demo import serve
    from huiying.cli.runner import demo_config

    with serve(new_post_every=None) as demo, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HUIYING_DATA_DIR": tmp}
        env.pop("HUIYING_DATABASE_URL", None)
        env.pop("HUIYING_BROKER_URL", None)
        subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        sources = Path(tmp, "sources")
        sources.mkdir()
        config = demo_config(demo.url).as_dict()
        (sources / "demo.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "huiying", "crawl"], env=env, check=True,
                             capture_output=True, text=True)
        crawl_seconds = time.perf_counter() - start
        stats = json.loads(out.stdout.strip().splitlines()[-1])["demo"]
        pages = stats["new"]
        urls = [f"{demo.url}/msg/{i}.html" for i in _demo_ids()][:pages]
        start = time.perf_counter()
        for url in urls:
            with urllib.request.urlopen(url) as response:  # noqa: S310 - loopback demo
                response.read()
        fetch_seconds = time.perf_counter() - start
    return {"suite": "crawl", "comments": pages,
            "crawl_and_store_per_s": round(pages / crawl_seconds, 1),
            "baseline_plain_fetch_per_s": round(len(urls) / fetch_seconds, 1),
            "ratio": round((pages / crawl_seconds) / (len(urls) / fetch_seconds), 3),
            "note": "crawl includes process start-up, robots.txt, list pages and one "
                    "database commit per comment",
            **_machine()}


def _demo_ids() -> list[int]:
    from crawler.demo import load_posts

    return [p["id"] for p in load_posts()[0]]


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
