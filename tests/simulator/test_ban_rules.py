"""The family of ban rules: spec strings and names, each rule driven with injected times, each ban style over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from boardsync_dagster.simulator import Profile, Simulator
from boardsync_dagster.simulator.ban_rules import RULES, BanRule, Limit, name_of, parse, resolve
from boardsync_dagster.simulator.bans import BanList
from tests.simulator.conftest import MakeSim, clist, members_params, take_proxy

ROOT = Path(__file__).resolve().parents[2]


def test_spec_strings_parse_and_print_back():
    rule = parse("300/60s@120s>20/10s+total50,403,ban=900s")
    assert rule == BanRule(
        Limit(300, 60.0), then=Limit(20, 10.0, 50), shift_after=120.0, style="403", duration=900.0
    )
    assert parse(rule.spec()) == rule
    assert parse("total100") == BanRule(Limit(total=100))
    assert parse("300/60s@400r>none").shift_after_requests == 400
    assert parse("none") == BanRule() and not parse("none").bans


@pytest.mark.parametrize(
    "spec", ["30/s", "30/10", "total", "10/10s,418", "10/10s@>5/5s", "10/10s@3m>5/5s", "10/10s,ban=0s", ""]
)
def test_bad_specs_name_the_part_not_understood(spec: str):
    with pytest.raises(ValueError, match="ban"):
        parse(spec)


def test_every_named_rule_parses_bans_longer_than_an_ip_lives_and_is_named_back():
    for name, spec in RULES.items():
        rule = resolve(name)
        assert rule == parse(spec) and name_of(rule) == name
        assert rule.duration > 60.0  # the seed vendor's IP life
    assert name_of(parse("7/7s")) == "7/7s"  # an unnamed rule is shown by its spec


def _run(bans: BanList, rule: BanRule, ip: str, times: list[float]) -> list[bool]:
    return [bans.admit(ip, t, rule) for t in times]


@pytest.mark.parametrize(
    ("name", "per_window", "window"),
    [("w10-10s", 10, 10.0), ("w30-10s", 30, 10.0), ("w60-30s", 60, 30.0), ("w300-60s", 300, 60.0)],
)
def test_windows_admit_exactly_their_count_per_window(name: str, per_window: int, window: float):
    rule = resolve(name)
    # Evenly spaced at the allowed rate (0.1 % under it, clear of float rounding): never banned in five windows.
    step = window / per_window * 1.001
    assert all(_run(BanList(), rule, "a", [i * step for i in range(5 * per_window)]))
    # A burst: the first per_window pass, the next one is banned, and the IP stays banned past its life.
    bans = BanList()
    burst = _run(bans, rule, "a", [0.001 * i for i in range(per_window + 1)])
    assert burst == [True] * per_window + [False]
    assert not bans.admit("a", 60.0, rule) and bans.admit("b", 60.0, rule)
    assert bans.bans == 1


def test_total_cap_counts_an_ips_whole_life_however_slow():
    bans, rule = BanList(), resolve("total100")
    assert all(_run(bans, rule, "a", [float(i * 10) for i in range(100)]))  # one every 10 s, 100 of them
    assert not bans.admit("a", 1000.0, rule)
    assert bans.admit("b", 1000.0, rule)


def test_rule_shifts_after_a_simulated_time_counted_from_the_first_request():
    bans, rule = BanList(), resolve("shift-w300-60s-to-w20-10s")  # 300/60s, then 20/10s from 120 s on
    # 40 in 10 s: fine before the shift...
    assert all(_run(bans, rule, "a", [5.0 + 0.25 * i for i in range(40)]))
    assert not bans.shifted
    # ...the same burst from another IP after it is banned at its 21st request.
    assert _run(bans, rule, "b", [125.0 + 0.25 * i for i in range(21)]) == [True] * 20 + [False]
    assert bans.shifted


def test_rule_shifts_after_a_request_count_and_scales_its_time():
    bans, rule = BanList(), parse("none@50r>5/10s")
    assert all(_run(bans, rule, "a", [0.01 * i for i in range(50)]))
    assert _run(bans, rule, "b", [1.0 + 0.01 * i for i in range(6)]) == [True] * 5 + [False]
    # At scale 0.01 a 10 s window is 0.1 real s: 5 per 0.1 s passes, 6 within it does not.
    scaled = BanList()
    assert all(scaled.admit("a", 0.021 * i, parse("5/10s"), scale=0.01) for i in range(50))
    assert not all(scaled.admit("b", 0.001 * i, parse("5/10s"), scale=0.01) for i in range(6))


def test_the_ban_lasts_its_duration_then_the_ip_is_admitted_again():
    bans, rule = BanList(), parse("2/10s,ban=100s")
    assert _run(bans, rule, "a", [0.0, 1.0, 2.0]) == [True, True, False]
    assert not bans.admit("a", 101.9, rule)
    assert bans.admit("a", 102.1, rule)


def test_a_simulator_refuses_a_ban_shorter_than_an_ip_life():
    with pytest.raises(ValueError, match="must exceed the IP life"):
        Simulator(ban_rule="5/10s,ban=30s", ip_ttl=60.0)
    sim = Simulator(profile="typical", ban_rule="w30-10s-403")
    # The rule is replaced, the rest stays the seed's.
    assert sim.profile.ban == resolve("w30-10s-403") and sim.profile.dead_ip == 0.2
    assert sim.stats()["ban_rule"] == "w30-10s-403"


def _burst(sim: Simulator, proxy: str, n: int) -> list[int]:
    return [clist(sim, proxy=proxy, **members_params("BK0596")).status_code for _ in range(n)]


def test_reset_style_ban_drops_the_connection_through_the_proxy(make_sim: MakeSim):
    sim = make_sim(profile=Profile(ban="3/1000s"), min_interval=0)
    proxy = take_proxy(sim)
    assert _burst(sim, proxy, 3) == [200] * 3
    with pytest.raises(requests.ConnectionError):
        clist(sim, proxy=proxy, **members_params("BK0596"))
    assert clist(sim, proxy=take_proxy(sim), **members_params("BK0596")).status_code == 200
    assert sim.stats()["bans"] == 1 and sim.stats()["replies"]["banned"] == 1


@pytest.mark.parametrize("style", ["403", "429"])
def test_status_style_ban_answers_its_status_through_the_proxy(make_sim: MakeSim, style: str):
    sim = make_sim(profile=Profile(ban=f"3/1000s,{style}"), min_interval=0)
    proxy = take_proxy(sim)
    assert _burst(sim, proxy, 5) == [200, 200, 200, int(style), int(style)]
    assert clist(sim, proxy=take_proxy(sim), **members_params("BK0596")).status_code == 200
    assert sim.stats()["bans"] == 1 and sim.stats()["replies"]["banned"] == 2


def test_simulate_cli_refuses_an_unknown_rule_in_one_line():
    command = [sys.executable, "-m", "boardsync_dagster.cli", "simulate", "--ban-rule", "w7-fortnight"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "w7-fortnight" in proc.stderr and "Traceback" not in proc.stderr
