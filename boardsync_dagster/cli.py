"""The `boardsync` command. Each subcommand lives in the module that owns it and registers itself here."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from boardsync_dagster.commands import register_all

    parser = argparse.ArgumentParser(prog="boardsync", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    register_all(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
