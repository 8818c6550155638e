"""Subcommands of `boardsync`: each module offers register(subparsers)."""

from __future__ import annotations

import argparse
import importlib

# module -> the subcommands it registers; imported lazily so `boardsync simulate` does not load Dagster.
MODULES = [
    "boardsync_dagster.simulator.cli",
    "boardsync_dagster.commands.sync",
    "boardsync_dagster.commands.demo",
    "boardsync_dagster.commands.bench",
]


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a subcommand still being built
        module.register(subparsers)
