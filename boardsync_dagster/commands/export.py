"""`boardsync export --out DIR`: the history as Parquet, for tools that read Parquet rather than DuckDB.

DIR/members/snapshot_date=YYYY-MM-DD/*.parquet holds each complete day's membership (with board name and kind,
stock name and market), partitioned by day; DIR/<mart>.parquet holds the stays, changes, board names, industry
levels and day coverage. Written by DuckDB's COPY from a read-only connection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from boardsync_dagster.commands.queries import fail

MEMBERS = """
    select members.snapshot_date, members.board_code, list.board_name, list.board_kind,
        members.stock_code, members.stock_name, members.market
    from staging.stg_board_members as members
    inner join staging.stg_board_list as list using (snapshot_date, board_code)
    where members.snapshot_date in (select snapshot_date from marts.complete_days)
    order by members.snapshot_date, members.board_code, members.stock_code
"""
MARTS = (
    "board_membership_history",
    "board_membership_changes",
    "board_names",
    "industry_levels",
    "day_coverage",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="Write the history as Parquet, partitioned by day.")
    parser.add_argument("--out", required=True, help="A new or empty directory.")
    parser.add_argument(
        "--database",
        "--db",
        dest="db",
        help="DuckDB file (the sync's: env BOARDSYNC_DB, else data/boardsync.duckdb).",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from boardsync_dagster import query

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return fail(args, f"{out} is not an empty directory: export into a new one")
    try:
        with query.connect(args.db) as con:
            out.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy ({MEMBERS}) to '{out / 'members'}' (format parquet, partition_by (snapshot_date))"
            )
            for mart in MARTS:
                con.execute(f"copy marts.{mart} to '{out / mart}.parquet' (format parquet)")
            (days,) = query.first_row(con, "select count(*) from marts.complete_days")
    except query.QueryError as exc:
        return fail(args, str(exc))
    print(f"exported {days} complete day{'' if days == 1 else 's'} to {out}", file=sys.stderr)
    return 0
