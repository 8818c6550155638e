"""Subcommands of `boardsync`: each module offers register(subparsers)."""

from __future__ import annotations

import argparse
import importlib

# Each module registers its subcommands; they import Dagster inside their run(), so `boardsync simulate`
# starts without loading it.
MODULES = [
    "boardsync_dagster.simulator.cli",
    "boardsync_dagster.commands.sync",
    "boardsync_dagster.commands.demo",
    "boardsync_dagster.commands.bench",
    "boardsync_dagster.commands.queries",
    "boardsync_dagster.commands.export",
]


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for name in MODULES:
        importlib.import_module(name).register(subparsers)
