"""The ban-rule comparison: per rule, on the same seeds, the seed's algorithm, ours and the rule's lower bound.

Every run is a child process (benchmark.run_child), one after the other, seed algorithm and ours alternating per
seed so that a change in the machine's load falls on both. Docs: docs/benchmark.md, "Ban rules".
"""

from __future__ import annotations

import dataclasses

from boardsync_dagster.benchmark import BenchSpec, median_figures, run_child
from boardsync_dagster.simulator.ban_rules import resolve

ALGORITHMS = ("seed", "ours")
# With warm=True: ours again on the same scenario, the next day, starting from what the first run learned (as
# production does from raw.ban_estimate): the cold run is a first day, this one every day after it.
WARM = "ours_day2"


def run_rules(spec: BenchSpec, rules: list[str], progress=None, warm: bool = False) -> dict:
    """Every rule (a name or a spec string), each on spec.seeds(), both algorithms (and ours warm)."""
    compared = []
    for rule in rules:
        rule_spec = dataclasses.replace(spec, ban_rule=rule)
        runs: dict[str, list[dict]] = {
            algorithm: [] for algorithm in (*ALGORITHMS, *((WARM,) if warm else ()))
        }
        for seed in spec.seeds():
            for algorithm in ALGORITHMS:
                runs[algorithm].append(run_child(rule_spec, seed, algorithm))
                if progress is not None:
                    progress(rule, runs[algorithm][-1])
            if warm:
                learned = runs["ours"][-1]["estimate"]
                runs[WARM].append(run_child(rule_spec, seed, "ours", ban_start=learned))
                if progress is not None:
                    progress(rule, {**runs[WARM][-1], "algorithm": WARM})
        compared.append(compare(rule, runs))
    return {"spec": dataclasses.asdict(spec), "warm": warm, "rules": compared}


def compare(rule: str, runs: dict[str, list[dict]]) -> dict:
    """One rule: each algorithm's repeats and medians, the bound (the same data set for both), the ratios."""
    out: dict = {"rule": rule, "spec": resolve(rule).spec(), "seeds": [r["seed"] for r in runs["ours"]]}
    for algorithm, repeats in runs.items():
        med = median_figures(repeats)
        out[algorithm] = {
            "repeats": repeats,
            "median": med,
            "summary": {
                "exact_worst": min(r["exact"] for r in repeats),
                "boards_total": max(r["boards_total"] for r in repeats),
                "wrong": med["wrong"],
                "unexplained": med["unexplained"],
                "permanent_failures": med["permanent_failures"],
                "ips": med["ips"],
                "ips_each": [r["ips"] for r in repeats],
                # Issued dead by the vendor (the simulator's count): what no client can avoid paying for.
                "dead_each": [r["ips_issued"].get("dead", 0) for r in repeats],
                "quota_used_worst": max(r["vendor_ips_today"] for r in repeats),
                "minutes": med["minutes"],
                "minutes_each": [round(r["minutes"], 2) for r in repeats],
                "bans": med["bans"],
                "vendor_refusals_worst": max(sum(r["vendor_refusals"].values()) for r in repeats),
                "stopped": med["stopped"],
            },
        }
    bound = out["ours"]["median"]["bound"]
    out["bound"] = bound
    ours, seed = out["ours"]["summary"], out["seed"]["summary"]
    out["ratios"] = {
        "ips_ours_seed": _ratio(ours["ips"], seed["ips"]),
        "minutes_ours_seed": _ratio(ours["minutes"], seed["minutes"]),
        "ips_ours_bound": _ratio(ours["ips"], bound["ips"]),
        "ips_ours_bound_with_dead": _ratio(ours["ips"], bound["ips_with_dead"]),
    }
    if WARM in out:
        day2 = out[WARM]["summary"]
        out["ratios"].update(
            ips_day2_seed=_ratio(day2["ips"], seed["ips"]),
            ips_day2_bound=_ratio(day2["ips"], bound["ips"]),
            ips_day2_bound_with_dead=_ratio(day2["ips"], bound["ips_with_dead"]),
            minutes_day2_seed=_ratio(day2["minutes"], seed["minutes"]),
        )
    return out


def failed(result: dict) -> bool:
    """A board came back wrong, or missing without a reason, in any run: a bug, not a figure."""
    return any(
        r[a]["summary"]["wrong"] or r[a]["summary"]["unexplained"]
        for r in result["rules"]
        for a in (*ALGORITHMS, WARM)
        if a in r
    )


def _ratio(ours: float, other: float) -> float | None:
    return round(ours / other, 3) if other else None
