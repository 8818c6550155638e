"""`boardsync demo`: the whole daily job against the built-in simulator, time-scaled to about a minute.

The simulator plays Eastmoney and a proxy vendor on loopback (seed profile: bad IPs, dropped connections, a
few timeouts). Every duration of the sync is scaled like the simulator's, so the run is the seed's run, faster.
The sync is a child `boardsync sync`, given the vendor URL in its environment as a real user would give it; the
demo then shows its figures beside the seed run's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from boardsync_dagster.engine.config import DURATION_FIELDS, SyncConfig

DEMO_DB = "data/demo.duckdb"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="Run the daily job against the built-in simulator.")
    parser.add_argument("--scale", type=float, default=0.2, help="Time scale (0.2: a 5-minute sync takes 1).")
    parser.add_argument("--profile", default="seed", help="Simulator profile: calm, seed or hostile.")
    parser.add_argument("--seed", type=int, default=0, help="Simulator data seed.")
    parser.add_argument("--boards-scale", type=float, default=1.0, help="Share of the seed's 527 boards.")
    parser.add_argument("--db", default=DEMO_DB, help=f"DuckDB file, recreated each time ({DEMO_DB}).")
    parser.add_argument("--json", action="store_true", help="Print the report as JSON on the last line.")
    parser.add_argument("--verbose", action="store_true", help="Show Dagster's own event log on stderr.")
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
    with Simulator(
        profile=args.profile, scale=args.scale, seed=args.seed, boards_scale=args.boards_scale
    ) as sim:
        print(
            f"simulator: Eastmoney at {sim.eastmoney_url}, vendor on loopback, profile {args.profile}, "
            f"time scale {args.scale} (1 simulated minute = {60 * args.scale:.0f} s)",
            file=sys.stderr,
        )
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
