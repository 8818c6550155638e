"""`boardsync members | boards | history | changes | coverage`: the query API (boardsync_dagster.query) on the
command line, as a table, CSV, JSON or Parquet. Errors are one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

FORMATS = ("table", "csv", "json", "parquet")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        "--db",
        dest="db",
        help="DuckDB file (the sync's: env BOARDSYNC_DB, else data/boardsync.duckdb).",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="Output format (table).")
    parser.add_argument("--out", help="Write to this file instead of stdout (required for parquet).")


def register(subparsers: argparse._SubParsersAction) -> None:
    def command(name: str, help_text: str, ask: Callable) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text)
        parser.set_defaults(func=lambda args: answer(args, ask))
        return parser

    members = command(
        "members",
        "Members of a board as of a day.",
        lambda q, a: q.members(a.board, a.on, a.db),
    )
    members.add_argument("board", help="Board code (BK0596) or exact name, current or former.")
    members.add_argument("--on", help="Day YYYY-MM-DD (default: the latest complete day).")

    boards = command(
        "boards",
        "Boards of a stock as of a day.",
        lambda q, a: q.boards(a.stock, a.on, a.level, a.db),
    )
    boards.add_argument("stock", help="Stock code (600519).")
    boards.add_argument("--on", help="Day YYYY-MM-DD (default: the latest complete day).")
    boards.add_argument("--level", type=int, help="Only its industry board of this inferred level (1, 2, 3).")

    history = command(
        "history",
        "Every stay of a board's members or of a stock's boards.",
        lambda q, a: q.history(a.board, a.stock, a.db),
    )
    history.add_argument("--board", help="Board code or exact name.")
    history.add_argument("--stock", help="Stock code.")

    changes = command(
        "changes",
        "Stocks added to and removed from boards per complete day.",
        lambda q, a: q.changes(a.since, a.until, a.board, a.db),
    )
    changes.add_argument("--since", required=True, help="First day YYYY-MM-DD.")
    changes.add_argument("--until", help="Last day YYYY-MM-DD, inclusive (default: the latest).")
    changes.add_argument("--board", help="Only this board (code or exact name).")

    coverage = command(
        "coverage",
        "Which calendar days were synced completely, partly, or not at all.",
        lambda q, a: q.coverage(a.start, a.end, a.db),
    )
    coverage.add_argument("--start", help="First day (default: the first synced day).")
    coverage.add_argument("--end", help="Last day (default: the last synced day).")

    for parser in (members, boards, history, changes, coverage):
        add_output_arguments(parser)


def answer(args: argparse.Namespace, ask: Callable) -> int:
    from boardsync_dagster import query

    if args.format == "parquet" and not args.out:
        return fail(args, "--format parquet writes a file: add --out FILE")
    try:
        frame = ask(query, args)
    except query.QueryError as exc:
        return fail(args, str(exc))
    asked = getattr(args, "on", None)
    if "observed_on" in frame.columns and asked and frame.height:
        seen = frame["observed_on"][0]
        if str(seen) != asked:
            print(f"{asked} was not synced completely: answered as of {seen}", file=sys.stderr)
    try:
        write(frame, args.format, args.out)
    except OSError as exc:
        return fail(args, f"cannot write {args.out}: {exc.strerror or exc}")
    return 0


def fail(args: argparse.Namespace, message: str) -> int:
    print(f"boardsync {args.command}: {message}", file=sys.stderr)
    return 2


def write(frame, form: str, out: str | None) -> None:
    """The frame in `form`, to `out` or stdout."""
    if form == "parquet":
        frame.write_parquet(out)
        return
    text = {"table": table, "csv": lambda f: f.write_csv(), "json": lambda f: f.write_json() + "\n"}[form](
        frame
    )
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def table(frame) -> str:
    """rich, because it measures Chinese names at their double width when it aligns the columns."""
    from rich.console import Console
    from rich.table import Table

    view = Table(box=None, show_edge=False, pad_edge=False)
    for name in frame.columns:
        view.add_column(name)
    for row in frame.iter_rows():
        view.add_row(*("" if value is None else str(value) for value in row))
    console = Console(width=10_000, file=io.StringIO(), color_system=None)
    console.print(view)
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    return "\n".join([*lines, f"({frame.height} row{'' if frame.height == 1 else 's'})"]) + "\n"
