"""The sync's own tables in the DuckDB file: per-board checkpoint, per-board status, vendor quota ledger, and
what the ban model learned per vendor account and day.

Plain DuckDB, no Dagster: the members step writes here as boards finish, so a crash loses nothing fetched.
The IO manager owns raw.board_list and raw.board_members; these tables sit beside them in schema raw.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from boardsync_dagster.engine.types import BoardFailure, BoardResult

# Every connection in one process must use the same config as the Dagster DuckDB IO manager, or DuckDB
# refuses the second one ("different configuration than existing connections").
DUCKDB_CONFIG = {"custom_user_agent": "dagster"}

SCHEMA_SQL = """
create schema if not exists raw;
create table if not exists raw.member_checkpoint (
    snapshot_date date not null, board_code varchar not null, stock_code varchar not null,
    stock_name varchar, market varchar not null
);
create table if not exists raw.board_sync_status (
    snapshot_date date not null, board_code varchar not null, reported_total integer,
    members integer, complete boolean not null, last_error varchar, synced_at timestamp not null,
    primary key (snapshot_date, board_code)
);
create table if not exists raw.proxy_quota (
    vendor_day date primary key, ips_used integer not null, updated_at timestamp not null
);
create table if not exists raw.ban_estimate (
    account varchar not null, vendor_day date not null, estimate json not null, updated_at timestamp not null,
    primary key (account, vendor_day)
);
"""

MEMBER_SCHEMA = {
    "snapshot_date": pl.Date,
    "board_code": pl.String,
    "stock_code": pl.String,
    "stock_name": pl.String,
    "market": pl.String,
}


class DatabaseBusyError(RuntimeError):
    pass


def connect(path: str | Path, *, wait_s: float = 30.0, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting a bounded time while another process holds it (DuckDB allows one writer)."""
    deadline = time.monotonic() + wait_s
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.IOException as exc:
            if time.monotonic() + delay > deadline:
                raise DatabaseBusyError(
                    f"DuckDB file {path} is held by another process (waited {wait_s:.0f} s): {exc}. "
                    "Stop the other writer (a second sync, a notebook, the dbt CLI) and run again; "
                    "nothing was written."
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class Store:
    """One connection, serialised by a lock: the manager thread checkpoints, workers record quota."""

    def __init__(self, path: str | Path, *, wait_s: float = 30.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path, wait_s=wait_s)
        self._lock = threading.Lock()
        with self._tx() as c:
            c.execute(SCHEMA_SQL)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self._conn.execute("begin transaction")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("rollback")
                raise
            self._conn.execute("commit")

    # -- checkpoint -------------------------------------------------------------------------------

    def checkpoint_board(self, day: dt.date, result: BoardResult) -> None:
        """Replace one board's rows and mark it complete, in one transaction."""
        rows = pl.DataFrame(
            {
                "snapshot_date": [day] * len(result.members),
                "board_code": [result.board.code] * len(result.members),
                "stock_code": [m.stock_code for m in result.members],
                "stock_name": [m.stock_name for m in result.members],
                "market": [m.market for m in result.members],
            },
            schema=MEMBER_SCHEMA,
        )
        with self._tx() as c:
            c.execute(
                "delete from raw.member_checkpoint where snapshot_date = ? and board_code = ?",
                [day, result.board.code],
            )
            c.register("ckpt_rows", rows)
            c.execute("insert into raw.member_checkpoint select * from ckpt_rows")
            c.unregister("ckpt_rows")
            c.execute(
                "insert or replace into raw.board_sync_status values (?, ?, ?, ?, true, ?, now()::timestamp)",
                [day, result.board.code, result.reported_total, len(result.members), result.short_total_note],
            )

    def record_failure(self, day: dt.date, failure: BoardFailure) -> None:
        """A board that failed keeps any complete checkpoint it had; otherwise its status says why."""
        with self._tx() as c:
            c.execute(
                """insert into raw.board_sync_status
                   select ?, ?, null, null, false, ?, now()::timestamp
                   where not exists (select 1 from raw.board_sync_status
                                     where snapshot_date = ? and board_code = ? and complete)
                   on conflict do update set last_error = excluded.last_error, synced_at = excluded.synced_at""",
                [
                    day,
                    failure.board.code,
                    f"{failure.error_class}: {failure.last_error}",
                    day,
                    failure.board.code,
                ],
            )

    def completed_boards(self, day: dt.date) -> set[str]:
        with self._lock:
            rows = self._conn.execute(
                "select board_code from raw.board_sync_status where snapshot_date = ? and complete", [day]
            ).fetchall()
        return {r[0] for r in rows}

    def day_members(self, day: dt.date, board_codes: list[str]) -> pl.DataFrame:
        """Every checkpointed member of the day's listed boards, in a stable order."""
        codes = pl.DataFrame({"board_code": board_codes}, schema={"board_code": pl.String})
        with self._lock:
            self._conn.register("listed_codes", codes)
            try:
                frame = self._conn.sql(
                    """select m.* from raw.member_checkpoint m
                       join listed_codes l using (board_code)
                       join raw.board_sync_status s
                         on s.snapshot_date = m.snapshot_date and s.board_code = m.board_code and s.complete
                       where m.snapshot_date = ?
                       order by m.board_code, m.stock_code""",
                    params=[day],
                ).pl()
            finally:
                self._conn.unregister("listed_codes")
        return frame.select(list(MEMBER_SCHEMA)).cast(MEMBER_SCHEMA)

    def day_status(self, day: dt.date) -> pl.DataFrame:
        with self._lock:
            return self._conn.sql(
                "select * from raw.board_sync_status where snapshot_date = ? order by board_code",
                params=[day],
            ).pl()

    def previous_complete_day(self, day: dt.date) -> tuple[dt.date, int, int] | None:
        """(date, boards, members) of the last day before `day` whose every listed board completed."""
        with self._lock:
            exists = self._conn.execute(
                "select 1 from information_schema.tables where table_schema = 'raw' and table_name = 'board_list'"
            ).fetchone()
            if not exists:
                return None
            row = self._conn.execute(
                """select l.snapshot_date, count(*), sum(s.members)
                   from raw.board_list l
                   left join raw.board_sync_status s using (snapshot_date, board_code)
                   where l.snapshot_date < ?
                   group by l.snapshot_date
                   having bool_and(coalesce(s.complete, false))
                   order by l.snapshot_date desc limit 1""",
                [day],
            ).fetchone()
        return (row[0], int(row[1]), int(row[2])) if row else None

    # -- vendor quota ledger (engine.ledger.QuotaLedger) --------------------------------------------

    def used(self, vendor_day: dt.date) -> int:
        with self._lock:
            row = self._conn.execute(
                "select ips_used from raw.proxy_quota where vendor_day = ?", [vendor_day]
            ).fetchone()
        return int(row[0]) if row else 0

    def add(self, vendor_day: dt.date, n: int) -> None:
        with self._tx() as c:
            c.execute(
                """insert into raw.proxy_quota values (?, greatest(?, 0), now()::timestamp)
                   on conflict do update set ips_used = greatest(raw.proxy_quota.ips_used + ?, 0),
                                             updated_at = excluded.updated_at""",
                [vendor_day, n, n],
            )

    # -- the ban model's estimate (engine.banmodel.Estimate) per vendor account and vendor day ---------------------

    def save_ban_estimate(self, account: str, vendor_day: dt.date, estimate: dict) -> None:
        """account is a fingerprint (engine.banmodel.account_of), never the vendor URL or its key."""
        with self._tx() as c:
            c.execute(
                """insert into raw.ban_estimate values (?, ?, ?, now()::timestamp)
                   on conflict do update set estimate = excluded.estimate, updated_at = excluded.updated_at""",
                [account, vendor_day, json.dumps(estimate)],
            )

    def last_ban_estimate(self, account: str, vendor_day: dt.date) -> dict | None:
        """The latest estimate of this account on or before vendor_day, or None."""
        with self._lock:
            row = self._conn.execute(
                """select estimate from raw.ban_estimate where account = ? and vendor_day <= ?
                   order by vendor_day desc limit 1""",
                [account, vendor_day],
            ).fetchone()
        return json.loads(row[0]) if row else None
