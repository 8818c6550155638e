"""The platform tests run the real Dagster job against a calm simulator, into a temporary DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform, job_settings, today

__all__ = ["Platform", "today"]

SCALE = 0.02
# Not scaled: the calm profile sends no slow replies, and 0.2 s real is less than a loaded 2-core machine
# sometimes takes to answer, which would turn load into dropped IPs.
CALM_TIMEOUT_S = 3.0


def scaled_settings() -> dict[str, object]:
    """The platform tests' `sync` resource settings, e.g. for a launched run's config."""
    return job_settings(SCALE, CALM_TIMEOUT_S)


@pytest.fixture
def calm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    with Simulator(profile="calm", scale=SCALE, rng_seed=3, boards_scale=0.03) as sim:
        yield Platform(sim, tmp_path / "boardsync.duckdb", monkeypatch, scale=SCALE, timeout=CALM_TIMEOUT_S)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def truth_rows(sim: Simulator) -> set[tuple[str, str, str, str]]:
    return {
        (code, m.stock_code, m.stock_name, m.market)
        for code, (_, members) in sim.truth().items()
        for m in members
    }
