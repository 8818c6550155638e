"""`boardsync sync`: materialise board_sync_job for one day through the project's Dagster definitions.

Its flags are the settings (generated from SyncConfig: `boardsync_dagster/settings.py`), handed to the same `sync`
resource that `dagster dev` uses, so a CLI run and a UI run are one code path. The proxy account comes from the
environment only (BOARDSYNC_PROXY_API / _URL / _USER / _PASSWORD). Runs are recorded in DAGSTER_HOME when it is set.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from boardsync_dagster import settings
from boardsync_dagster.commands.progress import ProgressBar
from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.engine.errors import ConfigError

if TYPE_CHECKING:  # Dagster loads in run(), so `boardsync --help` and `simulate` start fast
    from boardsync_dagster.commands.summary import RunSummary


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date", help="Partition YYYY-MM-DD (default: today, Asia/Shanghai; only today is allowed)."
    )
    parser.add_argument(
        "--no-dbt", action="store_true", help="Stop after board_members; skip the dbt models."
    )
    parser.add_argument("--json", action="store_true", help="Print the report as JSON on the last line.")
    parser.add_argument("--verbose", action="store_true", help="Show Dagster's own event log on stderr.")
    settings.add_arguments(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="Sync one day's boards and members (board_sync_job).",
        description="Sync one day's boards and members. The proxy account comes from BOARDSYNC_PROXY_API (a "
        "vendor URL) or BOARDSYNC_PROXY_URL (a fixed proxy or tunnel), with BOARDSYNC_PROXY_USER/_PASSWORD; "
        "without them the sync connects directly.",
    )
    add_sync_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        given = settings.given_from_args(args)
        config = settings.resolve(given)
    except ConfigError as exc:
        return _launch_error(args, args.date or "", exc)
    day = args.date or config.today or dt.datetime.now(SHANGHAI).date().isoformat()
    try:
        check_launch(day, config)
        summary = execute(args, day, given)
    except Exception as exc:  # a launch-time error (bad config, locked file): say it plainly
        return _launch_error(args, day, exc)
    for line in summary.error_lines():
        print(line, file=sys.stderr)
    args.terminated = summary.terminated  # the console script ends such a process at once (cli.entry)
    print(summary.table())
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    return 0 if summary.complete else 1


def _launch_error(args: argparse.Namespace, day: str, exc: Exception) -> int:
    message = " ".join(str(exc).split())  # one line, whatever the exception's own layout
    print(f"boardsync sync: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"date": day, "status": "error", "error": message}))
    return 2


def check_launch(day: str, config) -> None:
    """Refuse a bad date or proxy account before the run starts, naming what is wrong."""
    from boardsync_dagster.day import check_today

    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"--date {day!r} is not a date YYYY-MM-DD") from None
    try:
        check_today(day, config.today)
    except ValueError as exc:
        raise ValueError(f"--date: {exc}; only today's partition can be synced") from None
    try:
        settings.proxy_from_env(config)
    except ConfigError as exc:  # names the field and the expected shape, never the value
        raise ValueError(
            f"{exc}. Fix {' / '.join(settings.SECRET_ENV.values())} (the proxy variables)"
        ) from None


def execute(args: argparse.Namespace, day: str, given: dict[str, Any]) -> RunSummary:
    import dagster as dg

    from boardsync_dagster.commands.summary import RunSummary
    from boardsync_dagster.definitions import build_definitions
    from boardsync_dagster.resources import SyncResource

    sync = SyncResource(**{k: list(v) if isinstance(v, tuple) else v for k, v in given.items()})
    job = build_definitions(sync).resolve_job_def("board_sync_job")
    # Failures reach the user through the summary, in words; Dagster's stack traces only with --verbose.
    run_config = {"loggers": {"console": {"config": {"log_level": "DEBUG" if args.verbose else "CRITICAL"}}}}
    selection = (
        [dg.AssetKey(["raw", "board_list"]), dg.AssetKey(["raw", "board_members"])] if args.no_dbt else None
    )
    # dagster-dbt re-prints dbt's whole log on stdout; the table and JSON line own stdout unless --verbose.
    dbt_log = sys.stderr if args.verbose else io.StringIO()
    with ProgressBar(sys.stderr), contextlib.redirect_stdout(dbt_log), dagster_notices(args.verbose):
        instance = (
            dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
        )
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=day,
            asset_selection=selection,
            raise_on_error=False,
            tags={"boardsync/trigger": "cli"},
        )
    return RunSummary.from_result(day, result)


@contextlib.contextmanager
def dagster_notices(verbose: bool):
    """Dagster's own notices (the telemetry and community banner of a new DAGSTER_HOME, the missing dagster.yaml
    warning) would land amid the progress and the error lines: kept for --verbose. The progress bar holds the
    real stderr, so it still shows."""
    if verbose:
        yield
        return
    logger = logging.getLogger("dagster")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
