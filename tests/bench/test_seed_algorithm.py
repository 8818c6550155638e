"""The seed's algorithm, the benchmark's baseline: real client, real proxies, the simulator over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.seed_algorithm import SeedParams, SeedResult, SeedRun
from boardsync_dagster.simulator import Profile, Simulator
from tests.clock import FakeClock

SCALE = 0.02


@pytest.fixture
def sims() -> Iterator[list[Simulator]]:
    started: list[Simulator] = []
    yield started
    for sim in started:
        sim.stop()


def _run(sims: list[Simulator], params: SeedParams, clock=None, scale: float = SCALE, **sim_kwargs) -> tuple:
    sim_kwargs.setdefault("boards_scale", 0.05)
    sim = Simulator(scale=scale, rng_seed=3, **sim_kwargs).start()
    sims.append(sim)
    client = EastmoneyClient(sim.eastmoney_url, params.timeout)
    return sim, SeedRun(client, sim.vendor_url, params, seed=3, clock=clock).run()


def _exact(sim: Simulator, result: SeedResult) -> int:
    truth = sim.truth()
    return sum(
        1
        for code, (board, members) in truth.items()
        if code in result.done
        and result.done[code].board == board
        and sorted(result.done[code].members, key=lambda m: m.stock_code) == members
    )


def test_lists_then_every_board_exact_each_worker_on_its_own_ip(sims):
    sim, result = _run(sims, SeedParams().scaled(SCALE), profile="calm")
    truth = sim.truth()
    assert result.lists_complete and {b.code for b in result.boards} == set(truth)
    assert _exact(sim, result) == len(truth) and not result.failures and result.stopped_reason is None
    # One IP per worker, not one shared: six workers took at least six IPs, and each one reached Eastmoney.
    sources = sim.stats()["sources"]
    assert result.ips_used >= 6 and len(sources) == result.ips_used
    assert result.requests == sim.stats()["requests"] and result.vendor_refusals == 0


def test_a_board_failing_every_time_is_retried_max_retry_times_on_fresh_ips_then_failed(sims):
    params = dataclasses.replace(SeedParams(max_retry=2), min_interval=0.0).scaled(SCALE)
    sim, result = _run(sims, params, profile=Profile(null_data=1.0), min_interval=0.0)
    boards = len(sim.truth())
    assert result.lists_complete and not result.done  # null_data spares the lists, never a board's members
    assert len(result.failures) == boards and {f.attempts for f in result.failures} == {3}
    assert result.errors == {"empty_data": 3 * boards}
    # Every failure closed the worker's IP (mark_failed): no IP served a request after a failure.
    assert result.ips_used >= 3 * boards - 6 + 1


def test_max_ips_stops_the_run_keeping_what_was_fetched(sims):
    params = dataclasses.replace(SeedParams(max_ips=4, workers=2), min_interval=0.0).scaled(SCALE)
    # Half the member pages fail (never the lists): ~26 failures, each burning an IP, against 4 allowed.
    sim, result = _run(sims, params, profile=Profile(null_data=0.5), min_interval=0.0)
    assert result.stopped_reason == "max_ips (4) used" and result.ips_used == 4
    assert result.lists_complete
    truth = sim.truth()
    assert len(result.done) + len(result.failures) + len(result.unfinished) <= len(truth)
    assert result.unfinished and _exact(sim, result) == len(result.done)


def test_the_clock_is_injected_and_ips_are_renewed_at_their_ttl_in_its_time(sims):
    # Unscaled parameters with a fake clock: every wait (stagger, delay, vendor spacing) passes instantly, and a
    # worker's IP is renewed after its 3 +- 1 fake seconds although no real second passed. The simulator's
    # proxies live 60 real s and its vendor asks no spacing, so only the fake clock decides.
    clock = FakeClock()
    params = SeedParams(ip_ttl=3.0, ttl_jitter=1.0)
    sim, result = _run(sims, params, clock=clock, scale=1.0, profile="calm", min_interval=0.0)
    assert _exact(sim, result) == len(sim.truth())
    assert result.ips_used > 6  # renewed: 6 workers would need only 6 IPs without the fake TTL
    delays = [s for s in clock.sleeps if 1.0 <= s <= 2.0]
    assert len(delays) >= result.requests  # every request waited 1-2 s first
    assert all(0 <= s <= 5.0 for s in clock.sleeps)
