"""board_sync_job run in the test process against a simulator, into a temporary DuckDB file.

Shared by the platform and reliability tests: the same definitions the CLI builds, with the seed's parameters
at the simulator's time scale, set on the one `sync` resource.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from boardsync_dagster.commands import demo
from boardsync_dagster.definitions import build_definitions
from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.resources import SyncResource
from boardsync_dagster.simulator import Simulator

RAW = ["raw/board_list", "raw/board_members"]


def today() -> str:
    """Today in Asia/Shanghai, asked when needed: a run crossing midnight must not use yesterday's date."""
    return dt.datetime.now(SHANGHAI).date().isoformat()


def job_settings(scale: float, timeout: float | None = None, **overrides: object) -> dict[str, object]:
    """The `sync` resource's settings: the seed's parameters at `scale`, a real timeout if given, then the
    overrides."""
    return {**demo.scaled_settings(scale), **({"timeout": timeout} if timeout else {}), **overrides}


class Platform:
    """The definitions wired to one simulator and one DuckDB file, plus helpers to run and inspect.

    timeout: a real HTTP timeout instead of the scaled one (None keeps it scaled). The vendor URL reaches the
    run the way a user's does: through BOARDSYNC_PROXY_API.
    """

    def __init__(
        self,
        sim: Simulator,
        db: Path,
        monkeypatch: pytest.MonkeyPatch,
        *,
        scale: float,
        timeout: float | None = None,
        proxy_api: bool = True,
    ):
        self.sim, self.db, self.scale, self.timeout = sim, db, scale, timeout
        self.instance = dg.DagsterInstance.ephemeral()
        monkeypatch.delenv("BOARDSYNC_PROXY_URL", raising=False)
        if proxy_api:
            monkeypatch.setenv("BOARDSYNC_PROXY_API", sim.vendor_url)
        else:
            monkeypatch.delenv("BOARDSYNC_PROXY_API", raising=False)

    def settings(self, **overrides: object) -> dict[str, object]:
        return job_settings(
            self.scale,
            self.timeout,
            database=str(self.db),
            eastmoney_url=self.sim.eastmoney_url,
            **{k: v for k, v in overrides.items() if v is not None},
        )

    def definitions(self, **overrides: object) -> dg.Definitions:
        return build_definitions(SyncResource(**self.settings(**overrides)))

    def run(
        self,
        partition: str | None = None,
        *,
        assets: list[str] | None = None,
        instance: dg.DagsterInstance | None = None,
        **overrides: object,
    ) -> dg.ExecuteInProcessResult:
        """One run of board_sync_job; overrides are settings (force=True, boards=[...], max_retry=1, ...)."""
        job = self.definitions(**overrides).resolve_job_def("board_sync_job")
        return job.execute_in_process(
            partition_key=partition or str(overrides.get("today") or today()),
            instance=instance or self.instance,
            asset_selection=[dg.AssetKey.from_user_string(a) for a in assets] if assets else None,
            raise_on_error=False,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True, config={"custom_user_agent": "dagster"}) as conn:
            return conn.execute(sql, params or []).fetchall()
