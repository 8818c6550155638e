"""`boardsync demo`: the whole daily job against the built-in simulator, time-scaled to about a minute.

The simulator plays Eastmoney and a proxy vendor on loopback (seed profile: bad IPs, dropped connections, a
few timeouts). Every duration of the sync is scaled like the simulator's, so the run is the seed's run, faster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from boardsync_dagster.commands import sync
from boardsync_dagster.engine.config import SyncConfig

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


# The knobs that are durations, by resource: the CLI's flags and the resources' fields share these names.
EASTMONEY_DURATIONS = ("req_delay_min", "req_delay_max", "start_stagger", "timeout", "progress_interval")
PROXY_DURATIONS = ("ip_ttl", "ttl_jitter", "min_interval")


def scaled_knobs(scale: float) -> tuple[dict[str, float], dict[str, float]]:
    """The seed's parameters (SyncConfig's defaults), every duration scaled like the simulator's clock:
    (eastmoney resource fields, proxy resource fields)."""
    config = SyncConfig().scaled(scale)
    eastmoney = {name: getattr(config, name) for name in EASTMONEY_DURATIONS}
    proxy = {name: getattr(config, name) for name in PROXY_DURATIONS}
    return {**eastmoney, "time_scale": scale}, proxy


def scaled_flags(scale: float) -> list[str]:
    """scaled_knobs as `boardsync sync` flags."""
    eastmoney, proxy = scaled_knobs(scale)
    return [f"--{name.replace('_', '-')}={value}" for name, value in {**eastmoney, **proxy}.items()]


def sync_args(args: argparse.Namespace, eastmoney_url: str, vendor_url: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sync.add_sync_arguments(parser)
    return parser.parse_args(
        [
            f"--db={args.db}",
            f"--eastmoney-url={eastmoney_url}",
            f"--proxy-api={vendor_url}",
            *scaled_flags(args.scale),
            *(["--json"] if args.json else []),
            *(["--verbose"] if args.verbose else []),
        ]
    )


def run(args: argparse.Namespace) -> int:
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
        code = sync.run(sync_args(args, sim.eastmoney_url, sim.vendor_url))
    print(
        f"data: {db} (tables raw.board_list, raw.board_members; dbt models in schema marts)", file=sys.stderr
    )
    return code
