"""Two `boardsync sync` runs on one vendor account at once (separate DuckDB files, one PostgreSQL ledger): they
share the day's cap exactly and the vendor's spacing, so neither is refused as "too fast" nor stops for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from boardsync_dagster.engine.clock import SystemClock, vendor_day
from boardsync_dagster.engine.ledger import account_id
from boardsync_dagster.ledgers import PostgresLedger
from boardsync_dagster.simulator import Simulator
from tests.reliability.conftest import SyncProcess, ips_issued, sync_args

pytestmark = pytest.mark.postgres

SCALE = 0.2
MAX_IPS = 20


def test_two_cli_syncs_on_one_account_share_the_cap_and_the_spacing(tmp_path: Path, pg_dsn: str):
    # Leases of ~2 simulated seconds: each run alone would want an IP per vendor interval, so together they want
    # twice what the vendor's spacing allows and far more than the cap: both end on the shared quota.
    short = {"max_ips": MAX_IPS, "ip_ttl": 2 * SCALE, "ttl_jitter": 0.5 * SCALE}
    with Simulator(profile="calm", scale=SCALE, rng_seed=41, boards_scale=0.4) as sim:
        env = {"BOARDSYNC_LEDGER_DSN": pg_dsn}
        runs = [
            SyncProcess(
                tmp_path, sync_args(sim, tmp_path / f"{name}.duckdb", SCALE, **short), env, name, sim=sim
            )
            for name in ("first", "second")
        ]
        finished = [run.finish() for run in runs]
        stats, issued = sim.stats(), ips_issued(sim)

    for run in finished:
        errors = " ".join(run.report["errors"])
        assert run.report["status"] != "complete", "the cap should end both runs"
        assert f"quota is spent: {MAX_IPS}/{MAX_IPS} IPs used" in errors, run.stderr[-2000:]
        assert "too fast" not in errors and "unreachable" not in errors
    # The vendor issued the cap, not more (two runs each believing they had it) and not fewer (a false stop).
    assert issued == MAX_IPS
    assert stats["vendor_refusals"].get("too_fast", 0) == 0, stats["vendor_refusals"]
    ledger = PostgresLedger(pg_dsn, account_id(sim.vendor_url))
    assert ledger.used(vendor_day(SystemClock().now())) == MAX_IPS
    # Both runs fetched: the cap was shared, not taken by whichever started first.
    assert all(run.report["ips_used"] > 0 for run in finished), [run.report for run in finished]
