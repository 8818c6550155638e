"""Read-only questions over the history: who was in a board on a day, which boards a stock was in, every stay,
what changed, and which days we actually saw. Each function opens the DuckDB file read-only for one call and
returns a polars DataFrame; it reads the dbt marts (`boardsync sync` builds them).

As of a date. Only complete days are observed (every listed board stored completely, see docs/dbt.md). A
question about a date that was not synced completely (a weekend, a holiday, a failed or partial sync, a day
after the last sync) is answered from the latest complete day on or before it, and every answer says which day
that was in its `observed_on` column. A date before the first complete day is an error that says so: nothing
is ever invented, and a stay is never closed by a day that was not observed.

Stays: `valid_from` is the first complete day a stock was in the board, `valid_to` the first complete day it
was not (exclusive; null while still in), `last_observed` the last complete day it was seen in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.settings import resolve_one

COVERAGE_STATUSES = ("complete", "incomplete", "not_synced")
_BOARD_CODE = re.compile(r"^BK\d{4}$", re.IGNORECASE)
_DBT_HINT = "run `boardsync sync` (it builds the marts) or `dbt build` in dbt_project/"


class QueryError(ValueError):
    """A question the history cannot answer, in one line that says what to do."""


def default_db() -> str:
    """The sync's `database` setting by the same rule: BOARDSYNC_DB, else SyncConfig's default."""
    return resolve_one(SyncConfig.__dataclass_fields__["database"], None)


def as_date(value: date | str, what: str = "date") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{what} {value!r} is not a date: use YYYY-MM-DD") from None


@contextmanager
def connect(db: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The file read-only, for one call: the sync can take the writer's lock again as soon as we return."""
    path = Path(db or default_db())
    if not path.exists():
        raise QueryError(f"no database at {path}: sync a day first (`boardsync sync`) or pass --db")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise QueryError(
                f"{path} is being written by another process (a sync?): ask again when it ends"
            ) from None
        raise QueryError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None
    try:
        yield con
    except duckdb.CatalogException as exc:
        missing = re.search(r'with name "?([\w.]+)"? does not exist', str(exc))
        name = missing.group(1) if missing else "the marts"
        raise QueryError(f"{path} has no {name}: {_DBT_HINT}") from None
    finally:
        con.close()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    return con.sql(sql, params=params).pl()


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """fetchall, not fetchone: duckdb 2 refuses the next statement while a result is left unread."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def observed_on(con: duckdb.DuckDBPyConnection, on: date | str | None) -> date:
    """The complete day that answers for `on`: the latest complete day on or before it (None: the latest)."""
    first, last = first_row(con, "select min(snapshot_date), max(snapshot_date) from marts.complete_days")
    if first is None:
        raise QueryError(f"no day has been synced completely yet: {_DBT_HINT}")
    if on is None:
        return last
    day = as_date(on)
    if day < first:
        raise QueryError(
            f"{day} is before the first complete day, {first}: the history knows nothing about it"
        )
    (answer,) = first_row(
        con, "select max(snapshot_date) from marts.complete_days where snapshot_date <= ?", [day]
    )
    return answer


def board_code(con: duckdb.DuckDBPyConnection, board: str, on: date | None = None) -> str:
    """A board code as given (BK0596), or the code of the board with exactly this name, current or historic.
    A name two codes have worn is resolved by the one wearing it on `on`, else it is an error."""
    board = board.strip()
    if _BOARD_CODE.match(board):
        code = board.upper()
        if not first_row(con, "select 1 from marts.board_names where board_code = ? limit 1", [code]):
            raise QueryError(f"board {code} is not in the history (never listed on a complete day)")
        return code
    rows = con.execute(
        "select board_code, bool_or(valid_from <= ?1 and (valid_to is null or ?1 < valid_to)) "
        "from marts.board_names where board_name = ?2 group by board_code order by board_code",
        [on or date.max, board],
    ).fetchall()
    if not rows:
        raise QueryError(
            f"no board was ever named {board!r} (names match exactly; a code like BK0596 works too)"
        )
    wearing = [code for code, now in rows if now]
    if len(rows) == 1 or len(wearing) == 1:
        return (wearing or [rows[0][0]])[0]
    codes = ", ".join(code for code, _ in rows)
    raise QueryError(f"{board!r} names more than one board ({codes}): ask by code")


def members(board: str, on: date | str | None = None, db: str | Path | None = None) -> pl.DataFrame:
    """The members of `board` (code or exact name) as of `on` (default: the latest complete day), one row per
    stock: observed_on, board_code, board_name, stock_code, stock_name, market, valid_from (the stay's start).
    Empty when the board was not listed that day."""
    with connect(db) as con:
        day = observed_on(con, on)
        code = board_code(con, board, day)
        return frame(
            con,
            """
            select ?1 as observed_on, stay.board_code, names.board_name, stay.stock_code,
                snapshot.stock_name, snapshot.market, stay.valid_from
            from marts.board_membership_history as stay
            left join marts.board_names as names
                on names.board_code = stay.board_code
                and names.valid_from <= ?1 and (names.valid_to is null or ?1 < names.valid_to)
            left join staging.stg_board_members as snapshot
                on snapshot.snapshot_date = ?1 and snapshot.board_code = stay.board_code
                and snapshot.stock_code = stay.stock_code
            where stay.board_code = ?2 and stay.valid_from <= ?1 and (stay.valid_to is null or ?1 < stay.valid_to)
            order by stay.stock_code
            """,
            [day, code],
        )


def boards(
    stock: str, on: date | str | None = None, level: int | None = None, db: str | Path | None = None
) -> pl.DataFrame:
    """The boards of `stock` as of `on` (default: the latest complete day): observed_on, stock_code,
    board_code, board_name, board_kind, level and parent_board_code (industry boards; inferred, null where
    ambiguous), valid_from. `level` keeps only the industry board of that level, e.g. 1: its first-level
    industry. Empty when the stock was in no board that day."""
    with connect(db) as con:
        day = observed_on(con, on)
        found = frame(
            con,
            """
            select ?1 as observed_on, stay.stock_code, stay.board_code, names.board_name, names.board_kind,
                levels.level, levels.parent_board_code, stay.valid_from
            from marts.board_membership_history as stay
            left join marts.board_names as names
                on names.board_code = stay.board_code
                and names.valid_from <= ?1 and (names.valid_to is null or ?1 < names.valid_to)
            left join marts.industry_levels as levels
                on levels.snapshot_date = ?1 and levels.board_code = stay.board_code
            where stay.stock_code = ?2 and stay.valid_from <= ?1 and (stay.valid_to is null or ?1 < stay.valid_to)
            order by names.board_kind desc, levels.level nulls last, stay.board_code
            """,
            [day, stock.strip().upper()],
        )
    if level is not None:
        found = found.filter((pl.col("board_kind") == "industry") & (pl.col("level") == level))
    return found


def history(board: str | None = None, stock: str | None = None, db: str | Path | None = None) -> pl.DataFrame:
    """Every stay of a board's members, of a stock's boards, or of one stock in one board: board_code,
    stock_code, valid_from, valid_to (exclusive, null = still in), last_observed."""
    if board is None and stock is None:
        raise QueryError("history needs a board, a stock, or both")
    with connect(db) as con:
        code = board_code(con, board) if board is not None else None
        return frame(
            con,
            """
            select board_code, stock_code, valid_from, valid_to, last_observed
            from marts.board_membership_history
            where (?1 is null or board_code = ?1) and (?2 is null or stock_code = ?2)
            order by board_code, stock_code, valid_from
            """,
            [code, stock.strip().upper() if stock else None],
        )


def changes(
    since: date | str,
    until: date | str | None = None,
    board: str | None = None,
    db: str | Path | None = None,
) -> pl.DataFrame:
    """Stocks added to and removed from boards on the complete days from `since` to `until` (inclusive; default:
    the latest): snapshot_date, compared_with (the complete day before it), board_code, board_name, stock_code,
    change ('added' or 'removed'). On the first complete day every member is 'added'."""
    start = as_date(since, "--since")
    end = as_date(until, "--until") if until is not None else date.max
    if end < start:
        raise QueryError(f"--until {end} is before --since {start}")
    with connect(db) as con:
        code = board_code(con, board) if board is not None else None
        return frame(
            con,
            """
            select changes.snapshot_date, days.previous_complete_date as compared_with, changes.board_code,
                coalesce(now.board_name, before.board_name) as board_name, changes.stock_code, changes.change
            from marts.board_membership_changes as changes
            inner join marts.complete_days as days using (snapshot_date)
            left join marts.board_names as now
                on now.board_code = changes.board_code and now.valid_from <= changes.snapshot_date
                and (now.valid_to is null or changes.snapshot_date < now.valid_to)
            -- A board deleted that day: its name as last listed.
            left join marts.board_names as before
                on before.board_code = changes.board_code
                and before.last_observed = days.previous_complete_date
            where changes.snapshot_date between ?1 and ?2 and (?3 is null or changes.board_code = ?3)
            order by changes.snapshot_date, changes.board_code, changes.change, changes.stock_code
            """,
            [start, end, code],
        )


def coverage(
    start: date | str | None = None, end: date | str | None = None, db: str | Path | None = None
) -> pl.DataFrame:
    """One row per calendar day from `start` to `end` (default: the first to the last synced day):
    snapshot_date, status (complete / incomplete / not_synced), boards_listed, boards_complete, member_rows,
    observed_on (the complete day that answers for it; null before the first)."""
    with connect(db) as con:
        first, last = first_row(con, "select min(snapshot_date), max(snapshot_date) from marts.day_coverage")
        if first is None and (start is None or end is None):
            raise QueryError(f"nothing has been synced yet: {_DBT_HINT}")
        begin = as_date(start, "--start") if start is not None else first
        finish = as_date(end, "--end") if end is not None else last
        if finish < begin:
            raise QueryError(f"--end {finish} is before --start {begin}")
        return frame(
            con,
            """
            with calendar as (
                select unnest(generate_series(?1::date, ?2::date, interval 1 day))::date as snapshot_date
            )
            select
                calendar.snapshot_date,
                coalesce(known.status, 'not_synced') as status,
                coalesce(known.boards_listed, 0) as boards_listed,
                coalesce(known.boards_complete, 0) as boards_complete,
                coalesce(known.member_rows, 0) as member_rows,
                (select max(days.snapshot_date) from marts.complete_days as days
                 where days.snapshot_date <= calendar.snapshot_date) as observed_on
            from calendar
            left join marts.day_coverage as known using (snapshot_date)
            order by calendar.snapshot_date
            """,
            [begin, finish],
        )
