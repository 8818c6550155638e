"""Run the real Dagster job against the simulator, into a temporary DuckDB file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from boardsync_dagster.commands import demo
from boardsync_dagster.definitions import build_definitions, default_resources
from boardsync_dagster.io_manager import BoardsyncDuckDBIOManager
from boardsync_dagster.resources import StorageResource
from boardsync_dagster.simulator import Simulator

SCALE = 0.02
CALM_TIMEOUT_S = 3.0
TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def scaled_knobs(scale: float = SCALE, **eastmoney: object) -> tuple[dict, dict]:
    """The seed's parameters at the simulator's time scale, as the demo runs them, but for the timeout: the
    calm profile sends no slow replies, and 0.2 s real is less than a loaded 2-core machine sometimes takes to
    answer, which would turn load into dropped IPs."""
    east, proxy = demo.scaled_knobs(scale)
    return {**east, "timeout": CALM_TIMEOUT_S, **eastmoney}, proxy


class Platform:
    """The definitions wired to one simulator and one DuckDB file, plus helpers to run and inspect."""

    def __init__(self, sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch):
        self.sim = sim
        self.db = db
        self.instance = dg.DagsterInstance.ephemeral()
        monkeypatch.setenv("BOARDSYNC_DB", str(db))
        monkeypatch.setenv("BOARDSYNC_EASTMONEY_URL", sim.eastmoney_url)
        monkeypatch.setenv("BOARDSYNC_PROXY_API", sim.vendor_url)

    def definitions(self, today: str | None = None, **eastmoney: object) -> dg.Definitions:
        east, proxy = scaled_knobs(**eastmoney)
        resources = default_resources(eastmoney=east, proxy=proxy)
        resources["storage"] = StorageResource(database=str(self.db), today=today)
        resources["io_manager"] = BoardsyncDuckDBIOManager(database=str(self.db), schema="raw")
        return build_definitions(resources)

    def run(
        self,
        partition: str = TODAY,
        *,
        today: str | None = None,
        assets: list[str] | None = None,
        members_config: dict | None = None,
        **eastmoney: object,
    ) -> dg.ExecuteInProcessResult:
        job = self.definitions(today=today, **eastmoney).resolve_job_def("board_sync_job")
        return job.execute_in_process(
            partition_key=partition,
            instance=self.instance,
            asset_selection=[dg.AssetKey(a) for a in assets] if assets else None,
            run_config={"ops": {"board_members": {"config": members_config or {}}}},
            raise_on_error=False,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True, config={"custom_user_agent": "dagster"}) as conn:
            return conn.execute(sql, params or []).fetchall()


@pytest.fixture
def calm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    with Simulator(profile="calm", scale=SCALE, seed=3, boards_scale=0.03) as sim:
        yield Platform(sim, tmp_path / "boardsync.duckdb", monkeypatch)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def truth_rows(sim: Simulator) -> set[tuple[str, str, str, str]]:
    return {
        (code, m.stock_code, m.stock_name, m.market)
        for code, (_, members) in sim.truth().items()
        for m in members
    }
