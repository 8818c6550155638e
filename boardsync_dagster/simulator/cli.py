"""`boardsync simulate`: serve the simulator until SIGINT or SIGTERM, after printing where it listens."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from boardsync_dagster.simulator import ban_rules
from boardsync_dagster.simulator.formats import FORMATS
from boardsync_dagster.simulator.levels import WORLDS
from boardsync_dagster.simulator.profiles import PROFILES
from boardsync_dagster.simulator.server import Simulator


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="serve an offline Eastmoney clist API and proxy vendor on loopback",
        description="Prints one JSON line with eastmoney_url, vendor_url and stats_url, then serves until "
        "SIGINT/SIGTERM. Durations are simulated seconds, multiplied by --scale.",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="real seconds per simulated second")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="typical")
    parser.add_argument("--vendor-format", choices=FORMATS, default="text")
    parser.add_argument("--rng-seed", type=int, default=0, help="Random seed of the data and the faults (0).")
    parser.add_argument("--boards-scale", type=float, default=1.0, help="x the seed run's 527 boards")
    parser.add_argument(
        "--world",
        choices=WORLDS,
        default="classic",
        help="classic: 86 industries; levels2026: ~496 in 3 levels",
    )
    parser.add_argument("--vendor-key", default="sim-key")
    parser.add_argument("--quota", type=int, default=200, help="IPs per vendor day")
    parser.add_argument("--min-interval", type=float, default=2.0, help="simulated s between vendor calls")
    parser.add_argument("--ip-ttl", type=float, default=60.0, help="simulated s each proxy lives")
    parser.add_argument(
        "--ban-rule",
        type=_ban_rule,
        default=None,
        help=f"Eastmoney's ban rule instead of the profile's: a name ({', '.join(ban_rules.RULES)}) or a spec such as "
        "'30/10s,403' (docs/simulator.md)",
    )
    parser.add_argument("--proxy-user", default=None)
    parser.add_argument("--proxy-password", default=None)
    parser.set_defaults(func=run)


def _ban_rule(text: str) -> str:
    """Checked while parsing, so a typo is argparse's one-line usage error, not a traceback."""
    try:
        ban_rules.resolve(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sim = Simulator(
            profile=args.profile,
            scale=args.scale,
            rng_seed=args.rng_seed,
            boards_scale=args.boards_scale,
            vendor_format=args.vendor_format,
            vendor_key=args.vendor_key,
            proxy_user=args.proxy_user,
            proxy_password=args.proxy_password,
            quota=args.quota,
            min_interval=args.min_interval,
            ip_ttl=args.ip_ttl,
            ban_rule=args.ban_rule,
            world=args.world,
        )
    except ValueError as exc:  # a ban that would not outlast the IP, a bad format: one line, no traceback
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    with sim:
        urls = {"eastmoney_url": sim.eastmoney_url, "vendor_url": sim.vendor_url, "stats_url": sim.stats_url}
        print(json.dumps(urls), flush=True)
        # A bounded wait in a loop: the signal handler runs between waits even where a wait is not interruptible.
        while not stop.wait(0.5):
            pass
    print(json.dumps({"stopped": True, "stats": sim.stats()}), file=sys.stderr, flush=True)
    return 0
