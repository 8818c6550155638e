"""Subcommands of `boardsync`: each module offers register(subparsers).

The modules import Dagster inside their run(), so `boardsync --help` and `boardsync simulate` start fast.
"""

from __future__ import annotations

import argparse

from boardsync_dagster.commands import bench, demo, export, queries, settings_cmd, sync
from boardsync_dagster.simulator import cli as simulate

MODULES = [simulate, sync, demo, bench, settings_cmd, queries, export]


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for module in MODULES:
        module.register(subparsers)
