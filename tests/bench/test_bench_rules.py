"""`boardsync bench --matrix` / `--ban-rule`, tiny: structure and exactness, never timing; and the per-rule bound."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import pytest

from boardsync_dagster.benchmark_bound import Vendor, capacity, ip_share, lower_bound
from boardsync_dagster.commands import bench
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.simulator import PROFILES
from boardsync_dagster.simulator.ban_rules import RULES, Limit, parse


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    return parser.parse_args(argv)


# A tiny run: 3 % of the boards at time scale 0.02, one repeat.
TINY = ["--boards-scale", "0.03", "--scale", "0.02", "--repeat", "1", "--json"]


def _bench_json(flags: list[str], capsys) -> tuple[str, dict]:
    """`boardsync bench FLAGS` on the tiny scenario: it exits 0; its output, and the JSON on its last line."""
    args = _parse(["bench", *flags, *TINY])
    code = args.func(args)
    out = capsys.readouterr().out
    assert code == 0, out
    return out, json.loads(out.strip().splitlines()[-1])


def test_tiny_matrix_compares_both_algorithms_under_every_named_rule(capsys):
    out, result = _bench_json(["--matrix"], capsys)
    assert [r["rule"] for r in result["rules"]] == list(RULES)
    for r in result["rules"]:
        ours, seed = r["ours"]["repeats"][0], r["seed"]["repeats"][0]
        # Same scenario for both: the same seed, hence the same data set, and the rule in force.
        assert ours["seed"] == seed["seed"] == 0 and ours["boards_total"] == seed["boards_total"] > 0
        assert (ours["algorithm"], seed["algorithm"]) == ("ours", "seed")
        # Ours is exact under every rule; the seed's algorithm may lose a board, never with a wrong one.
        assert ours["exact"] == ours["boards_total"] and ours["list_exact"], (
            r["rule"],
            ours["missing_reasons"],
        )
        assert seed["wrong"] == 0 and seed["unexplained"] == 0
        assert seed["exact"] + seed["missing"] == seed["boards_total"]
        # The bound is a bound: neither algorithm needed fewer IPs or requests.
        bound = r["bound"]
        assert bound["ips"] <= min(ours["ips"], seed["ips"])
        assert bound["requests"] <= min(ours["requests"], seed["requests"])
        assert r["ratios"]["ips_ours_seed"] == pytest.approx(ours["ips"] / seed["ips"], abs=1e-3)
        assert r["ratios"]["ips_ours_bound"] == pytest.approx(ours["ips"] / bound["ips"], abs=1e-3)
        with_dead = r["ratios"]["ips_ours_bound_with_dead"]
        assert with_dead == pytest.approx(ours["ips"] / bound["ips_with_dead"], abs=1e-3)
        # The vendor's dead IPs as the simulator issued them, per repeat, beside the IPs each repeat used.
        summary = r["ours"]["summary"]
        assert summary["dead_each"] == [ours["ips_issued"].get("dead", 0)]
        assert 0 <= summary["dead_each"][0] <= summary["ips_each"][0] == ours["ips"]
        assert f"| {r['rule']}" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| ban rule") and len(table) == 1 + len(RULES)


def test_a_ban_rule_shows_in_the_simulator_it_ran_against(capsys):
    # A rule so strict that six workers on one IP must trip it: bans counted for ours, the spec named in the table.
    out, result = _bench_json(["--ban-rule", "3/10s,403"], capsys)
    (rule,) = result["rules"]
    assert rule["rule"] == rule["spec"] == "3/10s,403" and "| 3/10s,403" in out
    assert rule["ours"]["repeats"][0]["bans"] > 0
    assert rule["ours"]["repeats"][0]["errors"].get("http_status", 0) > 0  # a 403 ban, as the engine saw it


def test_an_unknown_rule_is_one_line_and_exit_2(capsys):
    args = _parse(["bench", "--ban-rule", "w7-fortnight"])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "w7-fortnight" in err and "w30-10s" in err


def test_capacity_of_one_ip_per_rule():
    life, fast = 60.0, 100.0  # a pace that never binds
    assert capacity(Limit(10, 10.0), life, fast) == 60  # six disjoint 10 s windows in 60 s
    assert capacity(Limit(300, 60.0), life, fast) == 300
    assert capacity(Limit(60, 30.0), life, fast) == 120
    assert capacity(Limit(20, 45.0), life, fast) == 40  # ceil(60 / 45) = 2 windows
    assert capacity(Limit(total=100), life, fast) == 100
    assert capacity(Limit(30, 10.0, 100), life, fast) == 100  # the tighter of the two
    assert capacity(Limit(), life, 3.75) == 225  # no rule: the life at our pace


def test_shifting_rule_bound_is_piecewise():
    rule = parse("300/60s@120s>20/10s")
    # 3.75/s for 120 s = 450 requests under 300/60s (225 per IP at this pace), the rest under 20/10s (120 per IP).
    assert ip_share(899, rule, 60.0, 3.75) == pytest.approx(450 / 225 + 449 / 120)
    by_count = parse("300/60s@100r>20/10s")
    assert ip_share(899, by_count, 60.0, 3.75) == pytest.approx(100 / 225 + 799 / 120)


def test_lower_bound_per_named_rule_on_the_seed_scenario():
    counts, lists = [63] * 86 + [120] * 441, [86, 441]  # 86 + 882 member pages + 1 + 5 list pages = 974
    ips = {}
    for name in RULES:
        bound = lower_bound(counts, lists, replace(PROFILES["typical"], ban=name), SyncConfig(), Vendor())
        assert bound.requests == 974 and bound.fits_quota
        ips[name] = bound.ips
    assert ips["w10-10s"] == math.ceil(974 / 60) and ips["total100"] == 10 and ips["w60-30s"] == 9
    assert ips["none"] == ips["w300-60s"] == math.ceil(974 / 225)  # our pace binds before 300/60s does
    assert ips["w30-10s"] == ips["w30-10s-403"] == ips["w30-10s-429"] == math.ceil(974 / 180)


def test_warm_runs_ours_a_second_day_from_the_first_days_estimate(capsys):
    out, result = _bench_json(["--ban-rule", "3/10s", "--warm"], capsys)
    assert result["warm"] is True
    (rule,) = result["rules"]
    cold, day2 = rule["ours"]["repeats"][0], rule["ours_day2"]["repeats"][0]
    assert (cold["warm"], day2["warm"]) == (False, True)
    assert day2["exact"] == day2["boards_total"] == cold["boards_total"]
    # Day 2 started from day 1's estimate: its bans carry over (an estimate counts the runs it came from).
    assert cold["estimate"]["bans"] > 0
    assert day2["estimate"]["bans"] >= cold["estimate"]["bans"]
    assert rule["ratios"]["ips_day2_bound"] == pytest.approx(day2["ips"] / rule["bound"]["ips"], abs=1e-3)
    assert "day 2" in out


def test_warm_without_a_ban_rule_is_refused_in_one_line(capsys):
    args = _parse(["bench", "--warm"])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bench: --warm compares ban rules: give --ban-rule RULE or --matrix"]
