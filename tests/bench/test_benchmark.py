"""The benchmark, tiny: a few boards at a small scale through the CLI, and the median on synthetic repeats.

No timing assertion: the figures are written down by hand in docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import json

import pytest

from boardsync_dagster.benchmark import _figures, median_figures
from boardsync_dagster.benchmark_bound import Vendor, lower_bound, pages
from boardsync_dagster.commands import bench
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.fetcher import BoardListResult
from boardsync_dagster.engine.types import Board, BoardKind, BoardResult, Member, SyncReport
from boardsync_dagster.simulator import PROFILES
from boardsync_dagster.simulator.formats import FORMATS

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


def test_bench_choices_are_the_simulators():
    # Spelled out in commands/bench.py so that building the parser does not import the simulator.
    assert set(bench.PROFILES) == set(PROFILES)
    assert bench.FORMATS == FORMATS


def test_tiny_benchmark_is_exact_and_reports_json(capsys):
    args = _parse(["bench", "--boards-scale", "0.03", "--scale", "0.02", "--repeat", "2", "--json"])
    code = args.func(args)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "profile typical, time scale 0.02" in out and "| duration (simulated min)" in out
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
    bound = lower_bound([63] * 86 + [3700], [86, 1], PROFILES["typical"], SyncConfig(), Vendor())
    assert bound.requests == 86 + 37 + 1 + 1
    assert bound.rate_per_s == pytest.approx(6 / 1.6)
    assert bound.per_ip == pytest.approx(225.0)  # 60 s x 3.75/s, under the ban's 300 per 60 s
    assert bound.ips == 1 and bound.ips_with_dead == 2
    hostile = lower_bound([100] * 600, [600], PROFILES["hostile"], SyncConfig(), Vendor())
    assert hostile.per_ip == 120  # the ban (60 per 30 s) binds before the pace does
    assert hostile.ips == 6
    assert pages(0) == 1 and pages(100) == 1 and pages(101) == 2


def test_figures_class_each_board_exact_wrong_or_missing():
    def board(code: str, kind: BoardKind = BoardKind.CONCEPT) -> Board:
        return Board(code, code.lower(), kind)

    def result(board: Board, members: list[Member]) -> BoardResult:
        return BoardResult(board, len(members), members, 1, True)

    a, b = Member("600000", "a", "SH"), Member("000001", "b", "SZ")
    truth = {
        "BK0001": (board("BK0001", BoardKind.INDUSTRY), [a, b]),
        "BK0002": (board("BK0002"), [a]),  # checkpointed with a member too many
        "BK0003": (board("BK0003"), [b]),  # never checkpointed
    }
    done = {
        "BK0001": result(board("BK0001", BoardKind.INDUSTRY), [b, a]),  # order does not matter
        "BK0002": result(board("BK0002"), [a, b]),
        "BK0009": result(board("BK0009"), [a]),  # not in the truth
    }
    listed = BoardListResult([t[0] for t in truth.values()], {}, True, SyncReport(requests=1, ips_used=1))
    members = SyncReport(requests=4, ips_used=2, unfinished=[truth["BK0003"][0]], stopped_reason="stop")
    stats = {"requests": 5, "bans": 0, "vendor_calls": 3, "vendor_refusals": {}, "ips_issued": {}}
    figures = _figures(listed, members, done, truth, {**stats, "vendor_ips_today": 3}, 0)
    assert figures["exact"] == 1 and figures["wrong_boards"] == ["BK0002", "BK0009"]
    assert figures["kinds"] == {
        "industry": {"ok": 1, "total": 1, "members": 2},
        "concept": {"ok": 0, "total": 2, "members": 0},
    }
    assert figures["missing_reasons"] == {"BK0003": "unfinished: stop"} and figures["unexplained"] == 0
    assert figures["requests"] == 5 and figures["ips"] == 3


def test_the_simulator_in_its_own_process_answers_as_in_process_and_says_what_was_wrong():
    from boardsync_dagster.simulator import Simulator
    from boardsync_dagster.simulator.remote import RemoteSimulator

    args = dict(profile="calm", scale=0.05, rng_seed=3, boards_scale=0.1)
    with RemoteSimulator(**args) as remote, Simulator(**args) as local:
        assert remote.profile == local.profile
        (truth, stats), (local_truth, _) = remote.observe(), local.observe()
        assert truth == local_truth and stats["requests"] == 0
        assert remote.eastmoney_url.startswith("http://127.")
    # Bad arguments: the child's own one-line reason, not a dead pipe.
    with (
        pytest.raises(ValueError, match="ban duration"),
        RemoteSimulator(profile="calm", ban_rule="30/10s,ban=30s"),
    ):
        pass
