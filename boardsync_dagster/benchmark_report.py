"""The benchmark's table: the seed run, our median, the lower bound and our distance to it (markdown)."""

from __future__ import annotations

from boardsync_dagster.engine.report import SEED_FIGURES

# The seed's notes give no request count; ~800 is the estimate the simulator's seed profile is calibrated to.
SEED_REQUESTS = "~800 (est.)"


def render(result: dict) -> str:
    spec, med = result["spec"], result["median"]
    bound = med["bound"]
    seeds = ", ".join(str(r["seed"]) for r in result["repeats"])
    head = (
        f"profile {spec['profile']}, time scale {spec['scale']} (durations in simulated minutes = real / scale), "
        f"boards_scale {spec['boards_scale']}, vendor format {spec['vendor_format']}, {spec['workers']} workers; "
        f"median of {len(result['repeats'])} repeat(s), seeds {seeds}"
    )
    rows = [("metric", "seed run", "ours (median)", "lower bound", "ours / bound")]
    for kind in ("industry", "concept"):
        ours = med["kinds"].get(kind, {})
        seed = SEED_FIGURES[kind]
        rows.append(
            (
                f"{kind} boards exact",
                f"{seed['boards_ok']}/{seed['boards_total']}",
                f"{_n(ours.get('ok', 0))}/{_n(ours.get('total', 0))}",
                "",
                "",
            )
        )
    rows += [
        (
            "total boards exact (worst repeat: wrong, missing)",
            "527/527",
            f"{_n(med['exact'])}/{_n(med['boards_total'])} (wrong {med['wrong']}, missing {med['missing']})",
            "",
            "",
        ),
        ("permanent failures (worst repeat)", "0", str(med["permanent_failures"]), "", ""),
    ]
    for kind in ("industry", "concept"):
        members = med["kinds"].get(kind, {}).get("members", 0)
        rows.append((f"{kind} members", f"{SEED_FIGURES[kind]['members']:,}", f"{members:,.0f}", "", ""))
    rows += [
        ("total members", f"{SEED_FIGURES['total']['members']:,}", f"{med['members']:,.0f}", "", ""),
        (
            "IPs (list + members)",
            f"97 of {SEED_FIGURES['max_ips']}",
            f"{_n(med['ips'])} ({_n(med['ips_list'])} + {_n(med['ips'] - med['ips_list'])}) of {spec['vendor']['quota']}",
            f"{bound['ips']} ({bound['ips_with_dead']} with dead IPs)",
            _ratio(med["ips"], bound["ips"]),
        ),
        (
            "requests (reached Eastmoney)",
            SEED_REQUESTS,
            f"{_n(med['requests'])} ({_n(med['reached_eastmoney'])})",
            str(bound["requests"]),
            _ratio(med["requests"], bound["requests"]),
        ),
        ("requests per IP", "~8", f"{med['requests_per_ip']:.1f}", f"{bound['per_ip']:.0f}", ""),
        ("errors by class", "connection 75, timeout 1", _classes(med["errors"]), "0", ""),
        ("bans (worst repeat)", "0", str(med["bans"]), "0", ""),
        (
            "vendor calls / refusals (too fast: worst repeat)",
            "-",
            f"{_n(med['vendor_calls'])} / {_classes(med['vendor_refusals'])} (too fast {med['too_fast']})",
            "",
            "",
        ),
        (
            "duration (simulated min)",
            str(SEED_FIGURES["minutes"]),
            f"{med['minutes']:.2f}",
            f"{bound['minutes']:.2f}",
            _ratio(med["minutes"], bound["minutes"]),
        ),
        (
            "duration less request overhead (real ms each)",
            "-",
            f"{med['minutes_less_overhead']:.2f} ({med['overhead_ms']:.1f} ms)",
            f"{bound['minutes']:.2f}",
            _ratio(med["minutes_less_overhead"], bound["minutes"]),
        ),
        (
            "peak memory (RSS: the run; with the truth read back to check it; the simulator's process)",
            "-",
            _memory(med),
            "",
            "",
        ),
    ]
    lines = [head, "", *_table(rows)]
    for r in result["repeats"]:
        for code in r["wrong_boards"]:
            lines.append(f"- seed {r['seed']}: WRONG {code}")
        for code, reason in r["missing_reasons"].items():
            lines.append(f"- seed {r['seed']}: missing {code}: {reason or 'NO REASON'}")
        if r["stopped"]:
            lines.append(f"- seed {r['seed']}: stopped: {r['stopped']}")
    return "\n".join(lines)


def render_rules(result: dict) -> str:
    """The ban-rule comparison, one row per rule: seed algorithm · ours, the bound, the ratios (markdown)."""
    spec = result["spec"]
    seeds = ", ".join(str(s) for s in result["rules"][0]["seeds"]) if result["rules"] else ""
    head = (
        f"profile {spec['profile']} with each ban rule in place of its own, time scale {spec['scale']} (simulated "
        f"minutes = real / scale), boards_scale {spec['boards_scale']}, vendor: 1 IP per "
        f"{spec['vendor']['min_interval']:g} s, {spec['vendor']['quota']} a day, {spec['vendor']['ip_life']:g} s "
        f"life; {spec['workers']} workers; seeds {seeds}. Cells are `seed algorithm · ours`: medians, and the "
        "worst repeat for exactness, failures, quota, bans and refusals."
    )
    rows = [
        (
            "ban rule",
            "boards exact (worst)",
            "perm. failures",
            "IPs",
            "bound IPs (with dead)",
            "ours / seed IPs",
            "ours / bound IPs (with dead)",
            "ours: IPs each (dead issued)",
            "simulated min",
            "bound min",
            "ours / seed min",
            "bans",
            "vendor refusals",
            "quota used (of " + str(spec["vendor"]["quota"]) + ")",
        )
    ]
    warm = bool(result.get("warm"))
    if warm:
        rows[0] += ("day 2 (ours, from day 1's estimate): exact, IPs each, × bound (with dead), min",)
    notes = []
    for r in result["rules"]:
        seed, ours, bound, ratios = r["seed"]["summary"], r["ours"]["summary"], r["bound"], r["ratios"]
        rule = r["rule"] if r["rule"] == r["spec"] else f"{r['rule']} (`{r['spec']}`)"
        rows.append(
            (
                rule,
                f"{seed['exact_worst']} · {ours['exact_worst']} /{ours['boards_total']}",
                f"{seed['permanent_failures']} · {ours['permanent_failures']}",
                f"{_n(seed['ips'])} · {_n(ours['ips'])}",
                f"{bound['ips']} ({bound['ips_with_dead']})",
                _x(ratios["ips_ours_seed"]),
                f"{_x(ratios['ips_ours_bound'])} ({_x(ratios.get('ips_ours_bound_with_dead'))})",
                f"{_each(ours['ips_each'])} ({_each(ours.get('dead_each', []))})",
                f"{seed['minutes']:.2f} · {ours['minutes']:.2f}",
                f"{bound['minutes']:.2f}",
                _x(ratios["minutes_ours_seed"]),
                f"{seed['bans']} · {ours['bans']}",
                f"{seed['vendor_refusals_worst']} · {ours['vendor_refusals_worst']}",
                f"{seed['quota_used_worst']} · {ours['quota_used_worst']}",
            )
        )
        if warm:
            day2 = r["ours_day2"]["summary"]
            rows[-1] += (
                f"{day2['exact_worst']}, {_n(day2['ips'])} ({_each(day2['ips_each'])}), "
                f"{_x(ratios['ips_day2_bound'])} ({_x(ratios['ips_day2_bound_with_dead'])}), "
                f"{day2['minutes']:.2f}",
            )
        for algorithm in ("seed", "ours", *(("ours_day2",) if warm else ())):
            for rep in r[algorithm]["repeats"]:
                if rep["stopped"]:
                    notes.append(f"- {r['rule']}, {algorithm}, seed {rep['seed']}: stopped: {rep['stopped']}")
                missing = list(rep["missing_reasons"].items())
                for code, reason in missing[:3]:
                    notes.append(f"- {r['rule']}, {algorithm}, seed {rep['seed']}: missing {code}: {reason}")
                if len(missing) > 3:
                    notes.append(
                        f"- {r['rule']}, {algorithm}, seed {rep['seed']}: {len(missing) - 3} more missing"
                    )
    return "\n".join([head, "", *_table(rows), *([""] + notes if notes else [])])


def _x(ratio: float | None) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "-"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def _each(values: list) -> str:
    """Per-repeat values, in seed order."""
    return ", ".join(str(v) for v in values)


def _n(value: float) -> str:
    # Medians of an even number of repeats can be halves.
    return f"{value:g}"


def _ratio(ours: float, bound: float) -> str:
    return f"{ours / bound:.2f}x" if bound else "-"


def _classes(counts: dict) -> str:
    shown = {k: v for k, v in counts.items() if v}
    return ", ".join(f"{k} {_n(v)}" for k, v in sorted(shown.items(), key=lambda kv: -kv[1])) or "none"


def _memory(med: dict) -> str:
    """The run's own peak (the engine and its results), the repeat process's peak once the truth is read back for
    the check, and the simulator's process (0 when the simulator ran in the repeat's process, before round nine)."""
    run = med.get("run_peak_rss_mib") or med["peak_rss_mib"]
    text = f"{run:.0f} MiB (+{run - med['rss_before_mib']:.0f} after imports); {med['peak_rss_mib']:.0f} MiB"
    sim = med.get("sim_peak_rss_mib")
    return text + (f"; simulator {sim:.0f} MiB" if sim else " (simulator included)")
