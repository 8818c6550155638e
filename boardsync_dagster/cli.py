"""The `boardsync` command. Each subcommand lives in the module that owns it and registers itself here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading


def build_parser() -> argparse.ArgumentParser:
    from boardsync_dagster.commands import register_all

    parser = argparse.ArgumentParser(prog="boardsync", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    register_all(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


# How long the process waits for its own threads (the engine's, its workers) before it ends; they stop within
# their bounded waits once a run is over or stopped.
THREADS_WAIT_S = 30.0


def entry() -> None:
    """The console script. A sync that was terminated ends its process without interpreter finalization: there a
    library's daemon thread could still be inside C++ code (DuckDB, pyarrow) and be unwound by force, aborting
    the process (rc -6, "FATAL: exception not rethrown") after everything was written. Our own threads are joined
    first, logs and output flushed; every write is committed by then."""
    args = build_parser().parse_args()
    code = args.func(args)
    if not getattr(args, "terminated", False):
        sys.exit(code)
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(THREADS_WAIT_S)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
