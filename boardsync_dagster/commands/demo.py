"""`boardsync demo`: the whole daily job against the built-in simulator, time-scaled to about a minute.

The simulator plays Eastmoney and a proxy vendor on loopback (seed profile: bad IPs, dropped connections, a
few timeouts). Every duration of the sync is scaled like the simulator's, so the run is the seed's run, faster.
The sync is a child `boardsync sync`, given the vendor URL in its environment as a real user would give it; the
demo then shows its figures beside the seed run's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from boardsync_dagster.engine.config import DURATION_FIELDS, SyncConfig

DEMO_DB = "data/demo.duckdb"
DEFAULT_SCALE = 0.2
DEMO_HOME = "data/demo-dagster-home"
UI_DAYS = 7  # the partitions the UI offers: this many days up to today
STOP_WAIT_S = 20.0  # how long the UI may take to stop on each signal


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="Run the daily job against the built-in simulator.")
    parser.add_argument(
        "--scale", type=float, default=DEFAULT_SCALE, help="Time scale (0.2: a 5-minute sync takes 1)."
    )
    parser.add_argument(
        "--profile",
        default="typical",
        help="Simulator profile: calm, typical (the seed run's conditions) or hostile.",
    )
    parser.add_argument(
        "--rng-seed", type=int, default=0, help="Random seed of the simulator's data and faults."
    )
    parser.add_argument("--boards-scale", type=float, default=1.0, help="Share of the seed's 527 boards.")
    parser.add_argument("--db", default=DEMO_DB, help=f"DuckDB file, recreated each time ({DEMO_DB}).")
    parser.add_argument("--json", action="store_true", help="Print the report as JSON on the last line.")
    parser.add_argument("--verbose", action="store_true", help="Show Dagster's own event log on stderr.")
    parser.add_argument(
        "--world",
        default="classic",
        help="Simulator world: classic (86 industries) or levels2026 (3 levels).",
    )
    parser.add_argument(
        "--ui", action="store_true", help="Serve the Dagster UI against the simulator instead; Ctrl-C stops."
    )
    parser.add_argument("--port", type=int, default=3000, help="The UI's port on 127.0.0.1 (3000).")
    parser.set_defaults(func=run)


def scaled_settings(scale: float) -> dict[str, float]:
    """The seed's parameters (SyncConfig's defaults) with every duration scaled like the simulator's clock."""
    config = SyncConfig().scaled(scale)
    return {**{name: getattr(config, name) for name in DURATION_FIELDS}, "time_scale": scale}


def scaled_flags(scale: float) -> list[str]:
    """scaled_settings as `boardsync sync` flags."""
    return [f"--{name.replace('_', '-')}={value}" for name, value in scaled_settings(scale).items()]


def run(args: argparse.Namespace) -> int:
    from boardsync_dagster.engine.report import render_table, report_from_figures
    from boardsync_dagster.simulator import Simulator

    db = Path(args.db)
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)  # demo data only: each demo starts from an empty file and quota ledger
    try:
        sim = Simulator(
            profile=args.profile,
            scale=args.scale,
            rng_seed=args.rng_seed,
            boards_scale=args.boards_scale,
            world=args.world,
        )
    except ValueError as exc:
        print(f"boardsync demo: {exc}", file=sys.stderr)
        return 2
    with sim:
        print(
            f"simulator: Eastmoney at {sim.eastmoney_url}, vendor on loopback, profile {args.profile}, "
            f"time scale {args.scale} (1 simulated minute = {60 * args.scale:.0f} s)",
            file=sys.stderr,
        )
        if args.ui:
            return serve_ui(args, sim)
        command = [
            sys.executable, "-m", "boardsync_dagster.cli", "sync", f"--database={db}",
            f"--eastmoney-url={sim.eastmoney_url}", *scaled_flags(args.scale), "--json",
            *(["--verbose"] if args.verbose else []),
        ]  # fmt: skip
        env = {**os.environ, "BOARDSYNC_PROXY_API": sim.vendor_url}
        child = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    lines = child.stdout.rstrip("\n").splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    print("\n".join(lines[:-1] if report else lines))
    if report and "boards_ok" in report:
        print("\nThe seed run beside this one:\n")
        print(render_table(report_from_figures(report), max_ips=SyncConfig().max_ips))
    if args.json and report:
        print(json.dumps(report, ensure_ascii=False))
    print(
        f"data: {db} (tables raw.board_list, raw.board_members; dbt models in schema marts)", file=sys.stderr
    )
    return child.returncode


def ui_environment(args: argparse.Namespace, eastmoney_url: str, vendor_url: str) -> dict[str, str]:
    """What `dagster dev` needs to run the demo's sync: the simulator's URLs, the demo's file and scale, and
    partitions from a week ago (only today's can be synced)."""
    import datetime as dt

    from boardsync_dagster.engine.clock import SHANGHAI

    first_day = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=UI_DAYS - 1)
    home = Path(DEMO_HOME).resolve()
    return {
        **os.environ,
        "BOARDSYNC_EASTMONEY_URL": eastmoney_url,
        "BOARDSYNC_PROXY_API": vendor_url,
        "BOARDSYNC_DB": str(Path(args.db).resolve()),
        "BOARDSYNC_DEMO_SCALE": str(args.scale),
        "BOARDSYNC_FIRST_DAY": first_day.isoformat(),
        "DAGSTER_HOME": str(home),
    }


def serve_ui(args: argparse.Namespace, sim) -> int:
    """`dagster dev` on the demo definitions (boardsync_dagster.demo_ui) until Ctrl-C; the simulator lives as
    long as it does."""
    env = ui_environment(args, sim.eastmoney_url, sim.vendor_url)
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = Path(__file__).resolve().parents[2] / "deploy" / "local" / "dagster.yaml"
    if config.exists() and not (home / "dagster.yaml").exists():
        shutil.copy(config, home / "dagster.yaml")
    dagster = Path(sys.executable).with_name("dagster")
    command = [
        str(dagster),
        "dev",
        "-m",
        "boardsync_dagster.demo_ui",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    print(
        f"Dagster UI: http://127.0.0.1:{args.port} (open Assets, select all, Materialize today's partition; "
        f"about a minute). Data: {args.db}. Ctrl-C stops.",
        file=sys.stderr,
    )
    # Its own process group, so a stop reaches dagster dev's webserver and daemon too; SIGINT back to its default
    # there (a shell's background job passes "ignore" on), as dagster dev shuts down cleanly on SIGINT.
    ui = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    signal.signal(signal.SIGTERM, interrupt)
    try:
        return ui.wait()
    except KeyboardInterrupt:
        return stop(ui)


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def stop(ui: subprocess.Popen) -> int:
    """SIGINT, then SIGTERM, then SIGKILL to the UI's process group, each given STOP_WAIT_S seconds."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ui.pid, signum)
        try:
            return ui.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            continue
    return ui.wait()
