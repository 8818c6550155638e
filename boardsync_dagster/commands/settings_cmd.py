"""`boardsync settings`: every setting with its default, unit, flag and environment variable.

`--markdown` prints the table of docs/settings.md (a test keeps that file equal to it).
"""

from __future__ import annotations

import argparse

from boardsync_dagster import settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("settings", help="List every setting: default, unit, flag, environment.")
    parser.add_argument("--markdown", action="store_true", help="The docs/settings.md table, as markdown.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings.markdown_table(), end="")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "flag", "default", "what", title="boardsync settings (boardsync sync --help)")
    for f in settings.fields():
        table.add_row(
            f.name,
            settings.flag(f.name),
            settings.default_text(f).removeprefix("default "),
            f.metadata["help"],
        )
    Console().print(table)
    return 0
