"""board_sync_job run in the test process against a simulator, into a temporary DuckDB file.

Shared by the platform and reliability tests: the same definitions the CLI builds, with the seed's parameters
at the simulator's time scale.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from boardsync_dagster.commands import demo
from boardsync_dagster.definitions import build_definitions, default_resources
from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.io_manager import BoardsyncDuckDBIOManager
from boardsync_dagster.resources import ProxyResource, StorageResource
from boardsync_dagster.simulator import Simulator


def today() -> str:
    """Today in Asia/Shanghai, read when asked: a session that crosses midnight must not sync yesterday."""
    return dt.datetime.now(SHANGHAI).date().isoformat()


def current_day() -> str:
    """today() for Platform.run, whose `today` argument (the product's replay day) shadows the function."""
    return today()


RAW = ["board_list", "board_members"]
PROXY_FIELDS = set(ProxyResource.model_fields)


def job_knobs(scale: float, timeout: float | None = None, **overrides: object) -> tuple[dict, dict]:
    """(eastmoney, proxy) resource fields: the seed's parameters at `scale`, a real timeout if given, then the
    overrides."""
    eastmoney, proxy = demo.scaled_knobs(scale)
    values = {**eastmoney, **proxy, **({"timeout": timeout} if timeout else {}), **overrides}
    return (
        {k: v for k, v in values.items() if k not in PROXY_FIELDS},
        {k: v for k, v in values.items() if k in PROXY_FIELDS},
    )


class Platform:
    """The definitions wired to one simulator and one DuckDB file, plus helpers to run and inspect.

    timeout: a real HTTP timeout instead of the scaled one (None keeps it scaled).
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
        monkeypatch.setenv("BOARDSYNC_DB", str(db))
        monkeypatch.setenv("BOARDSYNC_EASTMONEY_URL", sim.eastmoney_url)
        if proxy_api:
            monkeypatch.setenv("BOARDSYNC_PROXY_API", sim.vendor_url)
        else:
            monkeypatch.delenv("BOARDSYNC_PROXY_API", raising=False)

    def definitions(
        self, today: str | None = None, lock_wait_s: float | None = None, **knobs
    ) -> dg.Definitions:
        eastmoney, proxy = job_knobs(self.scale, self.timeout, **knobs)
        resources = default_resources(eastmoney=eastmoney, proxy=proxy, lock_wait_s=lock_wait_s)
        wait = {} if lock_wait_s is None else {"lock_wait_s": lock_wait_s}
        resources["storage"] = StorageResource(database=str(self.db), today=today, **wait)
        resources["io_manager"] = BoardsyncDuckDBIOManager(database=str(self.db), schema="raw", **wait)
        return build_definitions(resources)

    def run(
        self,
        partition: str | None = None,
        *,
        today: str | None = None,
        assets: list[str] | None = None,
        members_config: dict | None = None,
        lock_wait_s: float | None = None,
        instance: dg.DagsterInstance | None = None,
        **knobs: object,
    ) -> dg.ExecuteInProcessResult:
        job = self.definitions(today=today, lock_wait_s=lock_wait_s, **knobs).resolve_job_def(
            "board_sync_job"
        )
        return job.execute_in_process(
            partition_key=partition or current_day(),
            instance=instance or self.instance,
            asset_selection=[dg.AssetKey.from_user_string(a) for a in assets] if assets else None,
            run_config={"ops": {"board_members": {"config": members_config or {}}}},
            raise_on_error=False,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True, config={"custom_user_agent": "dagster"}) as conn:
            return conn.execute(sql, params or []).fetchall()
