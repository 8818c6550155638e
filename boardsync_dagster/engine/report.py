"""The seed's result table, rendered: our figures beside the seed run's, for the CLI, Dagster metadata and docs."""

from __future__ import annotations

from collections.abc import Callable

from boardsync_dagster.engine.errors import FatalSyncError
from boardsync_dagster.engine.types import KindReport, SyncReport

# The seed run (2025-12-10): sync_ext_boards.py, 6 workers, TTL 45 s, delays 1-2 s, 200 IPs/day.
SEED_FIGURES = {
    "industry": {"boards_ok": 86, "boards_total": 86, "members": 5450, "ips": 15},
    "concept": {"boards_ok": 441, "boards_total": 441, "members": 55756, "ips": 97},
    "total": {"boards_ok": 527, "boards_total": 527, "members": 61206, "ips": 97},
    "permanent_failures": 0,
    "max_ips": 200,
    "minutes": 6.7,
}


def stop_message(
    fatal: Exception, ok: int, failed: int, total: int, redact: Callable[[str], str] = str, gone: int = 0
) -> str:
    advice = fatal.advice if isinstance(fatal, FatalSyncError) else "see the error and re-run"
    failed_note = f", {failed} failed for good" if failed else ""
    failed_note += f", {gone} gone (deleted after the list)" if gone else ""
    left = total - ok - failed - gone
    return redact(f"{fatal}. {ok}/{total} boards done and checkpointed{failed_note}, {left} left: {advice}.")


def render_table(report: SyncReport, *, time_scale: float = 1.0, max_ips: int | None = None) -> str:
    """A markdown table, seed beside ours. time_scale converts a time-scaled run's duration to simulated time."""
    seed = SEED_FIGURES
    # The report's totals have the same names as a kind's figures; a kind this run did not fetch shows "-".
    scopes = {
        "industry": report.kinds.get("industry"),
        "concept": report.kinds.get("concept"),
        "total": report,
    }
    minutes = report.duration_s / time_scale / 60
    quota = f" of {max_ips}" if max_ips else ""
    rows = [("metric", "seed", "ours")]
    for name, ours in scopes.items():
        shown = f"{ours.boards_ok}/{ours.boards_total}" if ours else "-"
        rows.append((f"{name} boards ok", f"{seed[name]['boards_ok']}/{seed[name]['boards_total']}", shown))
    rows.append(("permanent failures", str(seed["permanent_failures"]), str(len(report.failures))))
    if report.gone:
        rows.append(("boards gone (deleted after the list)", "-", str(len(report.gone))))
    for name, ours in scopes.items():
        rows.append((f"{name} members", f"{seed[name]['members']:,}", f"{ours.members:,}" if ours else "-"))
    rows += [
        ("IPs used", f"{seed['total']['ips']}/{seed['max_ips']}", f"{report.ips_used}{quota}"),
        ("requests", "-", str(report.requests)),
        ("requests per IP", "-", f"{report.requests / report.ips_used:.1f}" if report.ips_used else "-"),
        ("errors", "connection 75, timeout 1", errors_text(report.errors)),
        ("vendor calls / refusals", "-", f"{report.vendor_calls} / {report.vendor_refusals}"),
        ("duration (min)", f"{seed['minutes']}", f"{minutes:.1f}"),
    ]
    if report.ips_unusable:
        rows.append(("IPs expired on arrival (waste)", "-", str(report.ips_unusable)))
    if report.ban_model:
        rows.append(("pacing learned (per IP)", "1 IP shared, 1-2 s", learned(report.ban_model, time_scale)))
    if report.skipped:
        rows.append(("skipped (already checkpointed)", "-", str(report.skipped)))
    if report.stopped_reason:
        rows.append(("stopped", "-", report.stopped_reason.replace("|", "/")))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for failure in report.failures:
        lines.append(
            f"- failed {failure.board.code} {failure.board.name}: {failure.error_class}: {failure.last_error}"
        )
    for gone in report.gone:
        lines.append(f"- gone {gone.board.code} {gone.board.name}: {gone.last_error}")
    return "\n".join(lines)


def learned(ban_model: dict, time_scale: float = 1.0) -> str:
    """The ban model's estimate in words: pace per IP, the total per IP when one was confirmed, bans seen."""
    estimate = ban_model["estimate"]
    words = f"{time_scale / estimate['spacing']:.2f} requests/s"
    if estimate.get("cap"):
        words += f", at most {estimate['cap']} requests"
    return f"{words}; {estimate['bans']} bans seen"


def errors_text(errors: dict[str, int]) -> str:
    """'connection 28, timeout 2' (most first), or 'none'."""
    if not errors:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1]))


def report_from_figures(figures: dict) -> SyncReport:
    """A SyncReport rebuilt from a run's flat figures (the members step's metadata, DayService.figures), so the
    demo can show the seed's table for a run it did not run in-process. duration_s is in simulated seconds."""
    kinds = {
        kind: KindReport(
            boards_ok=int(figures.get(f"boards_ok_{kind}", 0)),
            boards_total=int(figures.get(f"boards_total_{kind}", 0)),
            members=int(figures.get(f"members_{kind}", 0)),
        )
        for kind in ("industry", "concept")
        if f"boards_total_{kind}" in figures
    }
    return SyncReport(
        kinds=kinds,
        ips_used=int(figures.get("ips_used", 0)),
        requests=int(figures.get("requests", 0)),
        errors={k.removeprefix("errors_"): int(v) for k, v in figures.items() if k.startswith("errors_")},
        duration_s=float(figures.get("duration_s", 0.0)),
        vendor_calls=int(figures.get("vendor_calls", 0)),
        vendor_refusals=int(figures.get("vendor_refusals", 0)),
    )
