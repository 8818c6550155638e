"""The sync's own tables in the DuckDB file: per-board checkpoint and per-board status, the runs of a day, and what
the ban model learned per vendor account and day (the quota ledger: ledgers.py).

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
-- A board listed that day but deleted before its members were fetched: accounted for, not missing.
-- (Added after the table: files written before it get the column here.)
alter table raw.board_sync_status add column if not exists gone boolean default false;
create table if not exists raw.sync_runs (
    snapshot_date date not null, finished_at timestamp not null, boards_ok integer not null,
    boards_failed integer not null, members_fetched integer not null, ips_used integer not null,
    requests integer not null, duration_s double not null, errors json not null
);
create table if not exists raw.ban_estimate (
    account varchar not null, vendor_day date not null, estimate json not null, updated_at timestamp not null,
    primary key (account, vendor_day)
);
"""

STATUS_COLUMNS = "snapshot_date, board_code, reported_total, members, complete, last_error, synced_at, gone"

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


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One DuckDB transaction: committed when the block ends, rolled back when it raises."""
    conn.execute("begin transaction")
    try:
        yield conn
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


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
        with self._lock, transaction(self._conn) as conn:
            yield conn

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
                f"insert or replace into raw.board_sync_status ({STATUS_COLUMNS}) "
                "values (?, ?, ?, ?, true, ?, now()::timestamp, false)",
                [day, result.board.code, result.reported_total, len(result.members), result.short_total_note],
            )

    def record_failures(self, day: dt.date, failures: list[BoardFailure], *, gone: bool = False) -> None:
        """Boards that failed (or are gone: deleted after the list) keep any complete checkpoint they had;
        otherwise their status says why. One transaction for all of them."""
        with self._tx() as c:
            for failure in failures:
                c.execute(
                    f"""insert into raw.board_sync_status ({STATUS_COLUMNS})
                       select ?, ?, null, null, false, ?, now()::timestamp, ?
                       where not exists (select 1 from raw.board_sync_status
                                         where snapshot_date = ? and board_code = ? and complete)
                       on conflict do update set last_error = excluded.last_error,
                                                 synced_at = excluded.synced_at, gone = excluded.gone""",
                    [
                        day,
                        failure.board.code,
                        f"{failure.error_class}: {failure.last_error}",
                        gone,
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
        days = self.complete_days_before(day, 1)
        return days[0] if days else None

    def complete_days_before(self, day: dt.date, n: int) -> list[tuple[dt.date, int, int]]:
        """(date, boards, members) of the last n days before `day` whose every listed board completed, newest
        first. (dbt's complete_days is the authority for history; this is the step's own quick look.)"""
        with self._lock:
            exists = self._conn.execute(
                "select 1 from information_schema.tables where table_schema = 'raw' and table_name = 'board_list'"
            ).fetchone()
            if not exists:
                return []
            rows = self._conn.execute(
                """select l.snapshot_date, count(*), sum(s.members)
                   from raw.board_list l
                   left join raw.board_sync_status s using (snapshot_date, board_code)
                   where l.snapshot_date < ?
                   group by l.snapshot_date
                   having bool_and(coalesce(s.complete or s.gone, false))
                   order by l.snapshot_date desc limit ?""",
                [day, n],
            ).fetchall()
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    # -- the runs of a day, for the report's comparison with our own history ------------------------------------

    def record_run(self, day: dt.date, figures: dict) -> None:
        errors = {k.removeprefix("errors_"): v for k, v in figures.items() if k.startswith("errors_")}
        with self._tx() as c:
            c.execute(
                "insert into raw.sync_runs values (?, now()::timestamp, ?, ?, ?, ?, ?, ?, ?)",
                [
                    day,
                    figures["boards_ok"],
                    figures["boards_failed"],
                    figures["members_fetched"],
                    figures["ips_used"],
                    figures["requests"],
                    figures["duration_s"],
                    json.dumps(errors),
                ],
            )

    def day_figures(self, day: dt.date) -> dict:
        """A day's figures: boards and members as stored, IPs, requests, minutes and errors of all its runs."""
        with self._lock:
            boards, members = self._conn.execute(
                """select count(*) filter (where complete), coalesce(sum(members) filter (where complete), 0)
                   from raw.board_sync_status where snapshot_date = ?""",
                [day],
            ).fetchone()
            runs = self._conn.execute(
                "select ips_used, requests, duration_s, errors from raw.sync_runs where snapshot_date = ?",
                [day],
            ).fetchall()
        by_class: dict[str, int] = {}
        for run in runs:
            for name, n in json.loads(run[3]).items():
                by_class[name] = by_class.get(name, 0) + n
        return {
            "date": day,
            "boards_complete": int(boards),
            "members": int(members),
            "ips_used": sum(r[0] for r in runs),
            "requests": sum(r[1] for r in runs),
            "minutes": sum(r[2] for r in runs) / 60,
            "errors": sum(by_class.values()),
            "errors_by_class": by_class,
            "runs": len(runs),
        }

    def recent_complete_figures(self, day: dt.date, n: int) -> list[dict]:
        """day_figures of the last n complete days before `day`, newest first."""
        return [self.day_figures(d) for d, _, _ in self.complete_days_before(day, n)]

    # -- the ban model's estimate (engine.banmodel.Estimate) per vendor account and vendor day ---------------------

    def save_ban_estimate(self, account: str, vendor_day: dt.date, estimate: dict) -> None:
        """account is a fingerprint (engine.ledger.account_id), never the vendor URL or its key."""
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
