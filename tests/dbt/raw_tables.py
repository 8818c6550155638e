"""Writes the raw tables the dbt project reads (the contract of the board_list/board_members assets) and runs dbt."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import polars as pl
from dbt.cli.main import dbtRunner

from boardsync_dagster.dbt_project import DBT_PROJECT_DIR

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.board_list (
    snapshot_date date, board_code varchar, board_name varchar, board_kind varchar, kind_total integer);
create table if not exists raw.board_members (
    snapshot_date date, board_code varchar, stock_code varchar, stock_name varchar, market varchar);
create table if not exists raw.board_sync_status (
    snapshot_date date, board_code varchar, reported_total integer, members integer, complete boolean,
    last_error varchar, synced_at timestamp, gone boolean);
"""


@dataclass(frozen=True)
class Board:
    code: str
    name: str
    kind: str
    members: tuple[str, ...]


def market_of(stock_code: str) -> str:
    return {"6": "SH", "0": "SZ", "3": "SZ"}.get(stock_code[0], "BJ")


def write_day(
    db: Path,
    day: date,
    boards: list[Board],
    *,
    incomplete: dict[str, tuple[str, ...]] | None = None,
    sync_number: int = 1,
) -> None:
    """Replaces `day` in the raw tables, as a (re-)sync does. `incomplete` maps a board code to the members
    actually stored for it: that board gets complete = false."""
    incomplete = incomplete or {}
    synced_at = datetime.combine(day, time(hour=16, minute=sync_number))
    kind_totals = {kind: sum(board.kind == kind for board in boards) for kind in ("industry", "concept")}
    list_rows, member_rows, status_rows = [], [], []
    for board in boards:
        stored = incomplete.get(board.code, board.members)
        complete = board.code not in incomplete
        list_rows.append((day, board.code, board.name, board.kind, kind_totals[board.kind]))
        # Padded names, as the API sometimes returns them: staging trims them.
        member_rows += [(day, board.code, code, f" name {code} ", market_of(code)) for code in stored]
        error = None if complete else "proxy timeout"
        status_rows.append(
            (day, board.code, len(board.members), len(stored), complete, error, synced_at, False)
        )
    write_rows(db, day, list_rows, member_rows, status_rows)


def write_rows(db: Path, day: date, list_rows: list, member_rows: list, status_rows: list) -> None:
    """Replaces `day` in the three raw tables with these rows (in the tables' column order)."""
    with duckdb.connect(str(db)) as con:
        con.execute(RAW_DDL)
        for table, rows in (
            ("board_list", list_rows),
            ("board_members", member_rows),
            ("board_sync_status", status_rows),
        ):
            con.execute(f"delete from raw.{table} where snapshot_date = ?", [day])
            if rows:
                # Through a polars frame: executemany inserts row by row, ~100x slower at a day's size.
                described = con.execute(f"describe raw.{table}").fetchall()
                columns = [row[0] for row in described]
                con.register(
                    "day_rows", pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
                )
                con.execute(f"insert into raw.{table} select * from day_rows")
                con.unregister("day_rows")


def dbt_options(db: Path) -> list[str]:
    """The options that point dbt at the project and at `db`. Target and logs go beside `db`, so parallel
    runs never share dbt_project/target."""
    return [
        *("--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)),
        *("--target-path", str(db.parent / "target"), "--log-path", str(db.parent / "logs")),
        *("--vars", json.dumps({"boardsync_db": str(db)})),
    ]


def run_dbt(db: Path, *args: str) -> None:
    """Runs dbt in this process (a subprocess costs ~2 s more)."""
    result = dbtRunner().invoke([*args, *dbt_options(db), "--quiet"])
    failures = [
        str(r.node.unique_id) for r in getattr(result.result, "results", []) if r.status in ("error", "fail")
    ]
    assert result.success, f"dbt {args} failed: {failures or result.exception}"


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db)) as con:
        return con.execute(sql).fetchall()


def copy_db(db: Path, name: str) -> Path:
    """A copy of `db` in a sibling folder `name`, e.g. for a reader: dbt-duckdb keeps the database open in
    this process, and DuckDB refuses a second, read-only, connection to it here."""
    folder = db.parent.parent / name
    folder.mkdir()
    # Write everything to the file before copying it.
    query(db, "checkpoint")
    shutil.copy(db, folder / db.name)
    return folder / db.name
