"""The benchmark, tiny: a few boards at a small scale through the CLI, and the median on synthetic repeats.

No timing assertion: the figures are written down by hand in docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import json

import pytest

from boardsync_dagster.benchmark import median_figures
from boardsync_dagster.benchmark_bound import Vendor, lower_bound, pages
from boardsync_dagster.commands import bench
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.simulator import PROFILES

KEYS = {
    "kinds",
    "exact",
    "wrong",
    "missing",
    "members",
    "ips",
    "requests",
    "requests_per_ip",
    "errors",
    "bans",
    "vendor_refusals",
    "too_fast",
    "permanent_failures",
    "minutes",
    "peak_rss_mib",
    "bound",
}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_tiny_benchmark_is_exact_and_reports_json(capsys):
    args = _parse(["bench", "--boards-scale", "0.03", "--scale", "0.02", "--repeat", "2", "--json"])
    code = args.func(args)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "profile seed, time scale 0.02" in out and "| duration (simulated min)" in out
    result = json.loads(out.strip().splitlines()[-1])
    med = result["median"]
    assert set(med) >= KEYS and len(result["repeats"]) == 2
    assert [r["seed"] for r in result["repeats"]] == [0, 1]  # a different seed per repeat
    for r in result["repeats"]:
        assert r["wrong"] == 0 and r["missing"] == 0 and r["list_exact"]
        assert r["exact"] == r["boards_total"] > 0
        bound = r["bound"]
        assert bound["requests"] <= r["requests"]
        assert bound["ips"] <= r["ips"]
        assert bound["minutes"] <= r["minutes"]
        assert r["peak_rss_mib"] > 0


def test_median_of_synthetic_repeats():
    def repeat(ips, minutes, errors, wrong=0):
        return {
            "ips": ips,
            "minutes": minutes,
            "errors": errors,
            "wrong": wrong,
            "missing": 0,
            "unexplained": 0,
            "permanent_failures": 0,
            "bans": 0,
            "too_fast": 0,
            "list_exact": True,
            "stopped": None,
            "seed": 0,
            "wrong_boards": [],
        }

    med = median_figures(
        [
            repeat(10, 5.0, {"connection": 3}),
            repeat(30, 4.0, {"connection": 1, "timeout": 2}, wrong=1),
            repeat(20, 6.0, {}),
        ]
    )
    assert med["ips"] == 20 and med["minutes"] == 5.0
    assert med["errors"] == {"connection": 1, "timeout": 0}  # a class absent from a repeat counts 0 there
    assert med["wrong"] == 1  # exactness is the worst repeat, not the median
    assert med["list_exact"] is True and med["wrong_boards"] is None
    even = median_figures([repeat(10, 4.0, {}), repeat(13, 5.0, {})])
    assert even["ips"] == 11.5 and even["minutes"] == 4.5


def test_lower_bound_of_the_seed_scenario():
    # 86 industry boards of 63 rows, one board of 3,700 rows: pages, the list's pages, the ban-free IP load.
    bound = lower_bound([63] * 86 + [3700], [86, 1], PROFILES["seed"], SyncConfig(), Vendor())
    assert bound.requests == 86 + 37 + 1 + 1
    assert bound.rate_per_s == pytest.approx(6 / 1.6)
    assert bound.per_ip == pytest.approx(225.0)  # 60 s x 3.75/s, under the ban's 300 per 60 s
    assert bound.ips == 1 and bound.ips_with_dead == 2
    hostile = lower_bound([100] * 600, [600], PROFILES["hostile"], SyncConfig(), Vendor())
    assert hostile.per_ip == 120  # the ban (60 per 30 s) binds before the pace does
    assert hostile.ips == 6
    assert pages(0) == 1 and pages(100) == 1 and pages(101) == 2
