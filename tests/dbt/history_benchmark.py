"""Does a day's dbt build stay flat as history grows? Builds 250 synthetic days at Eastmoney's size.

527 boards on a typical day (91 industry, the rest concept; a few boards appear and disappear), ~61k member rows
a day, ~130 memberships changing a day, and every 50th day incomplete (one board failed). Steps, each a
`dbt build` as Dagster runs it (a subprocess, models and tests):

  day 1            first build, empty history
  day 2            incremental, 1 day of history; then re-synced and rebuilt twice (median of 3 reported)
  days 3-249       one catch-up build (not timed as a daily build)
  day 250          incremental, 249 days of history; likewise median of 3
  --full-refresh   everything rebuilt from the 250 days, for contrast, then compared with the incremental result

Usage: .venv/bin/python -m tests.dbt.history_benchmark [--days 250] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import duckdb

from boardsync_dagster.dbt_project import DBT_EXECUTABLE
from tests.dbt.raw_tables import RAW_DDL, dbt_options  # the raw tables' contract, shared

# Day numbers start at 1 on 2025-01-01 and skip weekends. Boards 1-91 are industries, 92-532 concepts; boards
# 521-532 are born between day 20 and day 240, boards 1-5 die on days 60, 100, 140, 180, 220: 527 on a typical day.
# A (board, slot) pair holds one stock; it lives in segments of 60-180 days and is absent in ~1 of 7 segments.
GENERATE_DAYS = """
create or replace temp table days as
select row_number() over (order by d) as day, d::date as snapshot_date
from range(date '2025-01-01', date '2026-06-01', interval 1 day) as t(d)
where dayofweek(d) between 1 and 5
qualify day between $first and $last;

create or replace temp table boards as
select
    b,
    'BK' || lpad(b::varchar, 4, '0') as board_code,
    case when b <= 91 then 'industry' else 'concept' end as board_kind,
    case when b > 520 then 20 * (b - 520) else 0 end as born,
    case when b <= 5 then 20 + 40 * b else 100000 end as dies,
    12 + hash(b, 'size') % 250 as slots
from range(1, 533) as t(b);

create or replace temp table live_boards as
select days.day, days.snapshot_date, boards.*
from days join boards on days.day >= boards.born and days.day < boards.dies;

create or replace temp table members as
with slots as (
    select b, board_code, slot, 60 + hash(b, slot, 'period') % 120 as period
    from boards, range(0, 1000) as t(slot)
    where slot < boards.slots
)
select
    live.snapshot_date,
    live.board_code,
    lpad(((hash(slots.b, slots.slot, 'stock') % 5400))::varchar, 6, '0') as stock_code,
    live.day
from live_boards as live
join slots on slots.b = live.b
-- Modulo a prime: hashes of neighbouring segments share their low bits.
where hash(slots.b, slots.slot, (live.day + hash(slots.b, slots.slot) % slots.period) // slots.period) % 7 != 0;
"""

INSERT_DAYS = """
insert into raw.board_list
select snapshot_date, board_code, 'board ' || board_code, board_kind,
       count(*) over (partition by snapshot_date, board_kind)
from live_boards;

insert into raw.board_members
select distinct snapshot_date, board_code, stock_code, 'stock ' || stock_code,
       case when stock_code < '003000' then 'SZ' when stock_code < '004000' then 'BJ' else 'SH' end
from members
-- Every 50th day one board's sync failed part-way: half its members stored.
where not (day % 50 = 0 and board_code = 'BK0200' and hash(stock_code) % 2 = 0);

insert into raw.board_sync_status
select live.snapshot_date, live.board_code, count(distinct m.stock_code), count(distinct m.stock_code),
       not (live.day % 50 = 0 and live.board_code = 'BK0200'), null, live.snapshot_date + interval ($sync_number) hour,
       false
from live_boards as live
left join members as m on m.snapshot_date = live.snapshot_date and m.board_code = live.board_code
group by all;
"""


def add_days(db: Path, first: int, last: int, sync_number: int = 1) -> None:
    """Writes days first..last; with a new sync_number, replaces them as a re-sync does (new synced_at)."""
    with duckdb.connect(str(db)) as con:
        con.execute(RAW_DDL)
        con.execute(GENERATE_DAYS.replace("$first", str(first)).replace("$last", str(last)))
        for table in ("board_list", "board_members", "board_sync_status"):
            con.execute(f"delete from raw.{table} where snapshot_date in (select snapshot_date from days)")
        con.execute(INSERT_DAYS.replace("$sync_number", str(sync_number)))


def time_day(db: Path, day: int, label: str, repeats: int) -> None:
    """Builds `day` once as a new day, then re-syncs and rebuilds it: the median of `repeats` builds."""
    walls, models, tests = [], [], []
    for sync_number in range(1, repeats + 1):
        add_days(db, day, day, sync_number)
        walls.append(dbt_build(db))
        model_seconds, test_seconds = node_seconds(db)
        models.append(model_seconds)
        tests.append(test_seconds)
    print(
        f"{label:<34} wall {median(walls):6.2f} s   models {median(models):5.2f} s   tests {median(tests):5.2f} s"
        f"   (median of {repeats}; models {', '.join(f'{m:.2f}' for m in models)})",
        flush=True,
    )


def dbt_build(db: Path, *options: str) -> float:
    command = [DBT_EXECUTABLE, "build", *options, *dbt_options(db)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stdout[-5000:])
    return elapsed


def node_seconds(db: Path) -> tuple[float, float]:
    """Seconds dbt spent on models and on tests in the last build (from run_results.json)."""
    results = json.loads((db.parent / "target" / "run_results.json").read_text())["results"]
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith("model."))
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
    return models, tests


def sizes(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        (rows,) = con.execute("select count(*) from raw.board_members").fetchone()
        (last_day_rows,) = con.execute(
            "select count(*) from raw.board_members where snapshot_date = (select max(snapshot_date) from raw.board_list)"
        ).fetchone()
        (boards,) = con.execute(
            "select count(*) from raw.board_list where snapshot_date = (select max(snapshot_date) from raw.board_list)"
        ).fetchone()
        (changes,) = con.execute("select count(*) from marts.board_membership_changes").fetchone()
        (stays,) = con.execute("select count(*) from marts.board_membership_history").fetchone()
    return (
        f"raw.board_members {rows:,} rows; last day {boards} boards, {last_day_rows:,} members; "
        f"changes {changes:,} rows; history {stays:,} stays"
    )


INCREMENTAL_MODELS = ("board_membership_changes", "board_membership_history", "board_daily_stats")


def keep_incremental_result(db: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists bench_incremental")
        for model in INCREMENTAL_MODELS:
            con.execute(f"create or replace table bench_incremental.{model} as select * from marts.{model}")


def rows_differing_from_incremental(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return sum(
            con.execute(
                f"""select count(*) from (
                    (select * from marts.{model} except all select * from bench_incremental.{model})
                    union all
                    (select * from bench_incremental.{model} except all select * from marts.{model}))"""
            ).fetchone()[0]
            for model in INCREMENTAL_MODELS
        )


def report(label: str, db: Path, wall: float) -> None:
    models, tests = node_seconds(db)
    print(f"{label:<34} wall {wall:6.2f} s   models {models:5.2f} s   tests {tests:5.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3, help="builds of day 2 and of the last day")
    parser.add_argument("--keep", type=Path, help="folder for the DuckDB file (default: a temporary one)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dbt_history_"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "boardsync.duckdb"
    db.unlink(missing_ok=True)

    add_days(db, 1, 1)
    report("day 1 (no history)", db, dbt_build(db))
    time_day(db, 2, "day 2 (1 day of history)", args.repeats)
    add_days(db, 3, args.days - 1)
    report(f"catch-up, days 3-{args.days - 1} in one build", db, dbt_build(db))
    time_day(db, args.days, f"day {args.days} ({args.days - 1} days of history)", args.repeats)
    keep_incremental_result(db)
    report(f"full refresh of {args.days} days", db, dbt_build(db, "--full-refresh"))
    print(sizes(db))
    print(f"rows differing between full refresh and incremental: {rows_differing_from_incremental(db)}")


if __name__ == "__main__":
    main()
