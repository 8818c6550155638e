"""`boardsync sync`: materialise board_sync_job for one day through the project's Dagster definitions.

Flags become the same environment variables and resource config that `dagster dev` uses, so a CLI run and a
UI run are one code path. Runs are recorded in DAGSTER_HOME when it is set.
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
from typing import TYPE_CHECKING

from boardsync_dagster.commands.progress import ProgressBar
from boardsync_dagster.engine.clock import SHANGHAI

if TYPE_CHECKING:  # Dagster loads in run(), so `boardsync --help` and `simulate` start fast
    from boardsync_dagster.commands.summary import RunSummary

# Flag -> environment variable read by definitions.py (secrets never pass through run config).
ENV_FLAGS = {
    "db": "BOARDSYNC_DB",
    "eastmoney_url": "BOARDSYNC_EASTMONEY_URL",
    "proxy_api": "BOARDSYNC_PROXY_API",
    "proxy_user": "BOARDSYNC_PROXY_USER",
    "proxy_password": "BOARDSYNC_PROXY_PASSWORD",
}
# The knobs of the eastmoney and proxy resources, by field name (the flag is --field-name).
KNOBS = [
    ("workers", int, "worker threads (6)"),
    ("max_ips", int, "vendor IPs per day (200)"),
    ("max_ips_per_run", int, "stop a run after this many IPs (no cap)"),
    ("ip_ttl", float, "seconds an IP is used (45)"),
    ("ttl_jitter", float, "+/- seconds on the TTL (5)"),
    ("min_interval", float, "least seconds between vendor calls (2)"),
    ("req_delay_min", float, "least delay before a request, s (1)"),
    ("req_delay_max", float, "largest delay before a request, s (2)"),
    ("start_stagger", float, "workers start within this many s (5)"),
    ("timeout", float, "HTTP timeout, s (10)"),
    ("max_retry", int, "retries per page (10)"),
    ("progress_interval", float, "seconds between progress lines (5)"),
    ("time_scale", float, "simulator replays: report durations divided by this (1)"),
]


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date", help="Partition YYYY-MM-DD (default: today, Asia/Shanghai; only today is allowed)."
    )
    parser.add_argument("--db", help="DuckDB file (env BOARDSYNC_DB; default data/boardsync.duckdb).")
    parser.add_argument("--eastmoney-url", help="clist API base (env BOARDSYNC_EASTMONEY_URL).")
    proxy = parser.add_mutually_exclusive_group()
    proxy.add_argument("--proxy-api", help="Vendor extraction URL with key (env BOARDSYNC_PROXY_API).")
    proxy.add_argument(
        "--no-proxy", action="store_true", help="Connect directly, ignoring BOARDSYNC_PROXY_API."
    )
    parser.add_argument("--proxy-user", help="Proxy user (env BOARDSYNC_PROXY_USER).")
    parser.add_argument("--proxy-password", help="Proxy password (env BOARDSYNC_PROXY_PASSWORD).")
    parser.add_argument(
        "--lock-wait", type=float, help="seconds to wait while another process holds the DuckDB file (30)"
    )
    for name, kind, help_text in KNOBS:
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help=help_text)
    parser.add_argument(
        "--force", action="store_true", help="Fetch every board again, ignoring the checkpoint."
    )
    parser.add_argument("--boards", help="Only these boards, comma-separated (BK0001,BK0002).")
    parser.add_argument(
        "--no-dbt", action="store_true", help="Stop after board_members; skip the dbt models."
    )
    parser.add_argument("--json", action="store_true", help="Print the report as JSON on the last line.")
    parser.add_argument("--verbose", action="store_true", help="Show Dagster's own event log on stderr.")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sync", help="Sync one day's boards and members (board_sync_job).")
    add_sync_arguments(parser)
    parser.set_defaults(func=run)


def apply_environment(args: argparse.Namespace) -> None:
    for flag, env in ENV_FLAGS.items():
        value = getattr(args, flag, None)
        if value:
            os.environ[env] = value
    if args.no_proxy:
        os.environ.pop("BOARDSYNC_PROXY_API", None)
        os.environ.pop("BOARDSYNC_PROXY_URL", None)


def resource_overrides(args: argparse.Namespace) -> dict[str, object]:
    from boardsync_dagster.definitions import default_resources
    from boardsync_dagster.resources import ProxyResource

    given = {name: getattr(args, name) for name, _, _ in KNOBS if getattr(args, name, None) is not None}
    return default_resources(
        eastmoney={k: v for k, v in given.items() if k not in ProxyResource.model_fields},
        proxy={k: v for k, v in given.items() if k in ProxyResource.model_fields},
        lock_wait_s=getattr(args, "lock_wait", None),
    )


def run(args: argparse.Namespace) -> int:
    apply_environment(args)
    day = args.date or os.environ.get("BOARDSYNC_TODAY") or dt.datetime.now(SHANGHAI).date().isoformat()
    try:
        summary = execute(args, day)
    except Exception as exc:  # a launch-time error (bad config, locked file): say it plainly
        message = " ".join(str(exc).split())
        print(f"boardsync sync: {message}", file=sys.stderr)
        if args.json:
            print(json.dumps({"date": day, "status": "error", "error": message}))
        return 2
    for line in summary.error_lines():
        print(line, file=sys.stderr)
    print(summary.table())
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    return 0 if summary.complete else 1


def check_launch(day: str, resources: dict[str, object]) -> None:
    """Refuse a bad date or an inconsistent configuration before the run starts, naming the field."""
    from boardsync_dagster.engine.errors import ConfigError
    from boardsync_dagster.resources import SECRET_ENV, snapshot_day, sync_config

    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"--date {day!r} is not a date YYYY-MM-DD") from None
    try:
        snapshot_day(day, os.environ.get("BOARDSYNC_TODAY"))
    except ValueError as exc:
        raise ValueError(f"--date: {exc}; only today's partition can be synced") from None
    try:
        sync_config(resources["eastmoney"], resources["proxy"])
    except Exception as exc:  # dg.Failure naming the SyncConfig field
        raise ValueError(getattr(exc, "description", None) or str(exc)) from None
    try:
        resources["proxy"].settings().validate()
    except ConfigError as exc:  # names the field and the expected shape, never the value
        raise ValueError(f"{exc}. Fix {' / '.join(SECRET_ENV.values())} (the proxy variables)") from None


def execute(args: argparse.Namespace, day: str) -> RunSummary:
    import dagster as dg

    from boardsync_dagster.commands.summary import RunSummary
    from boardsync_dagster.definitions import build_definitions

    resources = resource_overrides(args)
    check_launch(day, resources)
    defs = build_definitions(resources)
    job = defs.resolve_job_def("board_sync_job")
    members_config = {"force": bool(args.force), "boards": args.boards.split(",") if args.boards else []}
    run_config = {
        "ops": {"board_members": {"config": members_config}},
        # Failures reach the user through the summary, in words; Dagster's stack traces only with --verbose.
        "loggers": {"console": {"config": {"log_level": "DEBUG" if args.verbose else "CRITICAL"}}},
    }
    selection = [dg.AssetKey("board_list"), dg.AssetKey("board_members")] if args.no_dbt else None
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
