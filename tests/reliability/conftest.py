"""Helpers for the reliability tests: `boardsync sync` as a real process, bounded waits, the truth to compare with.

The simulator runs in the test process; the sync runs either as a subprocess (kill, signals, a second process
reading the ledger) or in-process through the same definitions (`tests.jobrun.Platform`), which starts in a second instead of
the ~8 s a fresh interpreter needs to import Dagster and dbt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from boardsync_dagster.commands import demo
from boardsync_dagster.simulator import Simulator
from tests import jobrun


def today() -> dt.date:
    """Asia/Shanghai's today when asked (a session may cross midnight)."""
    return dt.date.fromisoformat(jobrun.today())


# A fresh `boardsync sync` imports Dagster and dbt first: allow for that on a loaded 2-core machine.
STARTUP_S = 60.0


def wait_until(predicate: Callable[[], bool], timeout: float, *, proc=None, interval: float = 0.02) -> bool:
    """Poll `predicate` against a deadline (nothing to wait on exists: a counter in another thread or process).

    Between polls it waits on the process's exit when given one, so a process that dies ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    for _ in range(int(timeout / interval) + 2):
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return predicate()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(min(interval, remaining))
        else:
            pause.wait(min(interval, remaining))
    return predicate()


def knobs(scale: float, workers: int | None = None) -> dict[str, object]:
    """The seed's pacing at the simulator's time scale, as the demo runs it (the settings' names)."""
    values: dict[str, object] = dict(demo.scaled_settings(scale))
    if workers is not None:
        values["workers"] = workers
    return values


def cli_flags(values: dict[str, object]) -> list[str]:
    flags: list[str] = []
    for name, value in values.items():
        if isinstance(value, bool):
            flags += [f"--{'' if value else 'no-'}{name.replace('_', '-')}"]
        else:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags


@dataclass
class Finished:
    rc: int
    stdout: str
    stderr: str
    elapsed_s: float

    @property
    def report(self) -> dict:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        assert lines, f"no JSON line (rc {self.rc}):\n{self.stdout}\n{self.stderr[-3000:]}"
        return json.loads(lines[-1])


class SyncProcess:
    """`boardsync sync --json` in its own process; output goes to files so the test can read it while it runs.

    sim: the simulator whose vendor URL the process gets as a user gives it, in BOARDSYNC_PROXY_API."""

    def __init__(
        self,
        workdir: Path,
        args: list[str],
        env: dict[str, str] | None = None,
        name: str = "sync",
        dbt: bool = False,
        *,
        sim: Simulator | None = None,
    ):
        self.out_path = workdir / f"{name}.stdout"
        self.err_path = workdir / f"{name}.stderr"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOARDSYNC_", "DAGSTER_HOME"))}
        if sim is not None:
            clean["BOARDSYNC_PROXY_API"] = sim.vendor_url
        self.started = time.monotonic()
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "boardsync_dagster.cli",
                    "sync",
                    "--json",
                    *([] if dbt else ["--no-dbt"]),
                    *args,
                ],
                stdout=out,
                stderr=err,
                cwd=workdir,
                env={**clean, **(env or {})},
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def kill9(self) -> None:
        assert self.alive(), (
            "the sync had already exited: the kill would prove nothing\n" + self.stderr()[-2000:]
        )
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def finish(self, timeout: float = STARTUP_S + 60) -> Finished:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"sync still running after {timeout} s:\n{self.stderr()[-3000:]}") from None
        return Finished(rc, self.out_path.read_text(), self.stderr(), time.monotonic() - self.started)


def sync_args(sim: Simulator, db: Path, scale: float, **extra: object) -> list[str]:
    """The flags of a sync into db against sim (its vendor URL goes in the environment: SyncProcess(sim=...))."""
    return [
        "--database",
        str(db),
        "--eastmoney-url",
        sim.eastmoney_url,
        *cli_flags({**knobs(scale), **extra}),
    ]


def step_failure(result: dg.ExecuteInProcessResult, step: str) -> str:
    failures = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    assert failures, f"{step} did not fail"
    return failures[0].step_failure_data.error.message


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read the file while no sync holds it (the writer is done or dead)."""
    with duckdb.connect(str(db), read_only=True, config={"custom_user_agent": "dagster"}) as conn:
        return conn.execute(sql, params or []).fetchall()


def table_exists(db: Path, table: str) -> bool:
    return bool(
        query(
            db,
            "select 1 from information_schema.tables where table_schema = 'raw' and table_name = ?",
            [table],
        )
    )


def complete_boards(db: Path) -> set[str]:
    if not db.exists() or not table_exists(db, "board_sync_status"):
        return set()
    rows = query(
        db, "select board_code from raw.board_sync_status where snapshot_date = ? and complete", [today()]
    )
    return {r[0] for r in rows}


def ledger_used(db: Path) -> int:
    """IPs the DuckDB file's ledger counts today (one vendor account per test)."""
    if not table_exists(db, "vendor_quota"):
        return 0
    rows = query(db, "select sum(ips_used) from raw.vendor_quota where vendor_day = ?", [today()])
    return int(rows[0][0] or 0)


def truth_rows(sim: Simulator, boards: set[str] | None = None) -> set[tuple[str, str, str, str]]:
    return {
        (code, m.stock_code, m.stock_name, m.market)
        for code, (_, members) in sim.truth().items()
        if boards is None or code in boards
        for m in members
    }


def member_pages(sim: Simulator, boards: set[str]) -> int:
    """Requests a calm simulator needs for these boards: one per page of 100, at least one."""
    truth = sim.truth()
    return sum(max(1, math.ceil(len(truth[code][1]) / 100)) for code in boards)


def list_pages(sim: Simulator) -> int:
    kinds: dict[str, int] = {}
    for board, _ in sim.truth().values():
        kinds[board.kind.value] = kinds.get(board.kind.value, 0) + 1
    return sum(max(1, math.ceil(n / 100)) for n in kinds.values())


def ips_issued(sim: Simulator) -> int:
    return sum(sim.stats()["ips_issued"].values())


def assert_checkpoint_exact(sim: Simulator, db: Path, context: str) -> set[str]:
    """Every board marked complete has exactly its true members; no row of any other board; no duplicate."""
    done = complete_boards(db)
    if not table_exists(db, "member_checkpoint"):
        assert not done, context
        return done
    rows = query(
        db,
        "select board_code, stock_code, stock_name, market from raw.member_checkpoint where snapshot_date = ?",
        [today()],
    )
    assert len(rows) == len(set(rows)), f"{context}: duplicate checkpoint rows"
    assert set(rows) == truth_rows(sim, done), f"{context}: checkpoint differs from the truth"
    if table_exists(db, "board_members"):
        stored = query(
            db,
            "select board_code, stock_code, stock_name, market from raw.board_members where snapshot_date = ?",
            [today()],
        )
        # The partition is replaced in one transaction, only once every board is in: all of it or none.
        assert stored == [] or sorted(stored) == sorted(truth_rows(sim)), f"{context}: half a partition"
    return done
