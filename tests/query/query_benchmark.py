"""How fast do `members` and `boards` answer on a 250-day, full-size history? (A measurement, not a test.)

Builds the 250 weekdays of tests/dbt/history_benchmark.py (527 boards, ~61k member rows a day, 15.7 M in all)
with one `dbt build`, then asks, each question opening the file read-only as the CLI does:
  - the API: query.members / query.boards for boards and stocks on days spread over the history (incomplete and
    weekend days included), first call and then the median and worst of the rest;
  - the command: `boardsync members` / `boardsync boards` as a new process, wall time (Python start included).

Usage: .venv/bin/python -m tests.query.query_benchmark [--days 250] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from statistics import median

import duckdb

from boardsync_dagster import query
from tests.dbt.history_benchmark import add_days, dbt_build, sizes


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def ask_days(db: Path, count: int) -> list[date]:
    with duckdb.connect(str(db), read_only=True) as con:
        first, last = con.execute(
            "select min(snapshot_date), max(snapshot_date) from marts.day_coverage"
        ).fetchall()[0]
    step = (last - first) / (count - 1)
    return [first + timedelta(days=round(step.days * n)) for n in range(count)]


def api(db: Path, label: str, calls: list) -> None:
    seconds = [timed(call) for call in calls]
    print(
        f"{label:<34} first {seconds[0]:.3f} s   median {median(seconds[1:]):.3f} s   worst {max(seconds[1:]):.3f} s"
        f"   ({len(seconds)} calls)",
        flush=True,
    )


def command(db: Path, label: str, argv: list[str], repeats: int) -> None:
    boardsync = str(Path(sys.executable).with_name("boardsync"))
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [boardsync, *argv, "--db", str(db), "--format", "csv"], capture_output=True, text=True
        )
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(done.stderr)
    rows = done.stdout.count("\n") - 1
    print(
        f"{label:<34} median {median(seconds):.3f} s   worst {max(seconds):.3f} s   ({rows} rows)", flush=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--keep", type=Path, help="folder for the DuckDB file (default: a temporary one)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="query_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "boardsync.duckdb"
    if not db.exists():
        add_days(db, 1, args.days)
        print(f"dbt build of {args.days} days: {dbt_build(db):.1f} s", flush=True)
        results = json.loads((db.parent / "target" / "run_results.json").read_text())["results"]
        for r in results:
            if r["unique_id"].startswith("model."):
                print(f"  {r['unique_id'].split('.')[-1]:<28} {r['execution_time']:.2f} s")
    print(sizes(db))
    days = ask_days(db, 20)
    big, small, industry = "BK0100", "BK0350", "BK0042"
    stocks = ["000042", "003500", "004321"]
    api(db, "members(big board, 20 days)", [lambda d=d: query.members(big, d, db) for d in days])
    api(db, "members(small board, 20 days)", [lambda d=d: query.members(small, d, db) for d in days])
    api(db, "members(industry, 20 days)", [lambda d=d: query.members(industry, d, db) for d in days])
    api(
        db,
        "boards(3 stocks, 20 days)",
        [lambda d=d, s=s: query.boards(s, d, db=db) for d in days for s in stocks],
    )
    middle = str(days[len(days) // 2])
    command(db, f"boardsync members {big} --on {middle}", ["members", big, "--on", middle], 5)
    command(db, f"boardsync boards {stocks[0]} --on {middle}", ["boards", stocks[0], "--on", middle], 5)


if __name__ == "__main__":
    main()
