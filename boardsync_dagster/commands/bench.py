"""`boardsync bench`: the engine against the simulator, the seed's table beside ours and the lower bound.

With --ban-rule or --matrix: per ban rule, the seed's algorithm and ours on the same seeds, the rule's bound and
the ratios. Exit 1 when any board came back wrong (or missing without a reason), 0 otherwise. Docs:
docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import sys

# Spelled out rather than imported: registering a subcommand must not start loading the simulator.
PROFILES = ("calm", "typical", "hostile")
FORMATS = ("text", "zhima", "kuaidaili")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="Benchmark the sync against the simulator, beside the seed run."
    )
    parser.add_argument(
        "--profile",
        default="typical",
        choices=PROFILES,
        help="Simulator profile (typical: the seed run's conditions).",
    )
    parser.add_argument(
        "--scale", type=float, default=0.05, help="Time scale (0.05: a simulated minute is 3 s)."
    )
    parser.add_argument("--repeat", type=int, default=3, help="Repeats, each on a fresh simulator (3).")
    parser.add_argument("--workers", type=int, default=6, help="Engine worker threads (the seed's 6).")
    parser.add_argument("--boards-scale", type=float, default=1.0, help="Share of the seed's 527 boards (1).")
    parser.add_argument("--vendor-format", default="text", choices=FORMATS, help="Vendor answers (text).")
    parser.add_argument(
        "--rng-seed", type=int, default=0, help="Random seed of repeat 1; repeat i uses it + i - 1 (0)."
    )
    parser.add_argument("--same-seed", action="store_true", help="Every repeat uses --rng-seed itself.")
    rules = parser.add_mutually_exclusive_group()
    rules.add_argument(
        "--ban-rule",
        action="append",
        metavar="RULE",
        help="Compare the seed's algorithm and ours under this ban rule (a name, e.g. w30-10s, or a spec such as "
        "'30/10s,403'; repeatable). Names: docs/simulator.md.",
    )
    rules.add_argument(
        "--matrix", action="store_true", help="Compare them under every named ban rule (docs/simulator.md)."
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="With --ban-rule/--matrix: run ours a second day on each scenario, starting from what the first "
        "day learned (as every production day after the first does).",
    )
    parser.add_argument("--json", action="store_true", help="Also print the result as JSON on the last line.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from boardsync_dagster.benchmark import BenchSpec, run_benchmark
    from boardsync_dagster.benchmark_report import render

    if args.repeat < 1 or args.scale <= 0 or args.workers < 1 or args.boards_scale <= 0:
        print("bench: --repeat and --workers must be >= 1, --scale and --boards-scale > 0", file=sys.stderr)
        return 2
    rules = _rules(args)
    if rules is None:
        return 2
    spec = BenchSpec(
        profile=args.profile,
        scale=args.scale,
        repeat=args.repeat,
        workers=args.workers,
        boards_scale=args.boards_scale,
        vendor_format=args.vendor_format,
        seed=args.rng_seed,
        same_seed=args.same_seed,
    )

    if args.warm and not rules:
        print("bench: --warm compares ban rules: give --ban-rule RULE or --matrix", file=sys.stderr)
        return 2
    if rules:
        return _compare(spec, rules, args.json, args.warm)

    def progress(figures: dict) -> None:
        print(
            f"repeat seed {figures['seed']}: {figures['exact']}/{figures['boards_total']} exact, "
            f"{figures['ips']} IPs, {figures['requests']} requests, {figures['minutes']:.2f} simulated min",
            file=sys.stderr,
        )

    result = run_benchmark(spec, progress)
    print(render(result))
    if args.json:
        print(json.dumps(result))
    med = result["median"]
    return 1 if med["wrong"] or med["unexplained"] else 0


def _rules(args: argparse.Namespace) -> list[str] | None:
    """The ban rules asked for ([] for the single-profile mode); None, with one line said, when one is unknown."""
    from boardsync_dagster.simulator.ban_rules import RULES, resolve

    rules = list(RULES) if args.matrix else list(args.ban_rule or [])
    for rule in rules:
        try:
            resolve(rule)
        except ValueError as exc:
            print(f"bench: {exc}; names: {', '.join(RULES)}", file=sys.stderr)
            return None
    return rules


def _compare(spec, rules: list[str], as_json: bool, warm: bool = False) -> int:
    from boardsync_dagster.benchmark_report import render_rules
    from boardsync_dagster.benchmark_rules import failed, run_rules

    def progress(rule: str, figures: dict) -> None:
        print(
            f"{rule}, {figures['algorithm']}, seed {figures['seed']}: {figures['exact']}/{figures['boards_total']} "
            f"exact, {figures['ips']} IPs, {figures['bans']} bans, {figures['minutes']:.2f} simulated min",
            file=sys.stderr,
        )

    result = run_rules(spec, rules, progress, warm=warm)
    print(render_rules(result))
    if as_json:
        print(json.dumps(result))
    return 1 if failed(result) else 0
