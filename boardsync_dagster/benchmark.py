"""The benchmark: the engine against a fresh simulator per repeat, every board checked member by member.

Each repeat runs in a child process (`python -m boardsync_dagster.benchmark JSON`) so that its peak RSS
(ru_maxrss) is that repeat's alone; the child prints one JSON line of figures. run_benchmark() takes the median.
Plain Python, no Dagster import. Docs: docs/benchmark.md.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from boardsync_dagster.benchmark_bound import Vendor, lower_bound

# A repeat that has not finished in this long is stuck, not slow (a full-size run at scale 0.05 takes ~20 s).
CHILD_TIMEOUT_S = 3600


@dataclass(frozen=True)
class BenchSpec:
    profile: str = "typical"
    scale: float = 0.05
    repeat: int = 3
    workers: int = 6
    boards_scale: float = 1.0
    vendor_format: str = "text"
    seed: int = 0  # repeat i uses seed + i, for the simulator's data and faults and for the engine
    same_seed: bool = False  # every repeat uses seed itself
    vendor: Vendor = field(default_factory=Vendor)
    ban_rule: str | None = None  # a name of ban_rules.RULES or a spec string in place of the profile's rule
    # The simulator in a process of its own, as Eastmoney is not on the engine's CPU (simulator/remote.py);
    # False: in the engine's process, as the tests run it.
    sim_process: bool = True

    def seeds(self) -> list[int]:
        return [self.seed if self.same_seed else self.seed + i for i in range(self.repeat)]


class _TimedClient:
    """The engine's client, timing every request in real seconds: the part of a run that does not shrink with the
    scale (threads, sockets, parsing on shared cores) shows up as real time beyond the scaled latency."""

    def __init__(self, client) -> None:
        self.client = client
        self.seconds: list[float] = []  # list.append is atomic: workers share it without a lock

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def board_list_page(self, *args):
        return self._timed(self.client.board_list_page, args)

    def member_page(self, *args):
        return self._timed(self.client.member_page, args)

    def _timed(self, call, args):
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.seconds.append(time.perf_counter() - started)


def run_repeat(spec: BenchSpec, seed: int, algorithm: str = "ours", ban_start: dict | None = None) -> dict:
    """One repeat in this process: board list + members, exactness, figures. Simulated minutes, not real.

    algorithm "ours" is the engine with its default configuration; "seed" the seed script's (seed_algorithm.py).
    ban_start: what an earlier run learned (figures["estimate"] of "ours"), as the next day's run starts from it.
    """
    from boardsync_dagster.engine.config import SyncConfig
    from boardsync_dagster.engine.eastmoney import EastmoneyClient
    from boardsync_dagster.simulator import Simulator
    from boardsync_dagster.simulator.remote import RemoteSimulator

    # The seed's parameters (SyncConfig's defaults), our overrides, then every duration scaled like the simulator.
    plain = SyncConfig(workers=spec.workers, rng_seed=seed, max_ips=spec.vendor.quota)
    config = plain.scaled(spec.scale).validate()
    rss_before = _rss_kib()
    sim_kwargs = dict(
        profile=spec.profile,
        scale=spec.scale,
        rng_seed=seed,
        boards_scale=spec.boards_scale,
        vendor_format=spec.vendor_format,
        quota=spec.vendor.quota,
        min_interval=spec.vendor.min_interval,
        ip_ttl=spec.vendor.ip_life,
        ban_rule=spec.ban_rule,
    )
    sim = RemoteSimulator(**sim_kwargs) if spec.sim_process else Simulator(**sim_kwargs)
    with sim:
        client = _TimedClient(EastmoneyClient(sim.eastmoney_url, config.timeout, config.page_size))
        done: dict = {}
        started = time.monotonic()
        if algorithm == "seed":
            listed, members, dead_on_arrival = _seed_run(spec, seed, sim.vendor_url, client, done)
        else:
            listed, members, dead_on_arrival, estimate = _our_run(
                spec, config, sim.vendor_url, client, done, ban_start
            )
        elapsed = time.monotonic() - started
        # The run's own peak, before the truth is read back for the check (a copy of the data set, the bench's).
        run_peak = _rss_kib("VmHWM")
        truth, stats = sim.observe()
    figures = _figures(listed, members, done, truth, stats, dead_on_arrival)
    figures["algorithm"] = algorithm
    if algorithm != "seed":
        figures["estimate"], figures["warm"] = estimate, ban_start is not None
    figures["minutes"] = elapsed / spec.scale / 60
    # Real time per request beyond the scaled latency: a constant that a smaller scale magnifies (docs/benchmark.md).
    overhead = max(0.0, statistics.median(client.seconds or [0.0]) - sim.profile.latency * spec.scale)
    figures["overhead_ms"] = overhead * 1000
    figures["minutes_less_overhead"] = (
        (elapsed - figures["requests"] * overhead / spec.workers) / spec.scale / 60
    )
    figures["seed"] = seed
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The simulator's own process (its data set, servers, proxy threads), ended by now: not the engine's memory.
    figures["sim_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures["rss_before_mib"] = rss_before / 1024
    figures["run_peak_rss_mib"] = run_peak / 1024
    bound = lower_bound(
        [len(m) for _, m in truth.values()],
        [sum(1 for b, _ in truth.values() if b.kind == kind) for kind in ("industry", "concept")],
        sim.profile,
        plain,
        spec.vendor,
    )
    figures["bound"] = bound.as_dict()
    return figures


def _our_run(spec: BenchSpec, config, vendor_url: str, client, done: dict, ban_start: dict | None) -> tuple:
    """The engine as production runs it: the board list, then the members, one ProxyManager."""
    from boardsync_dagster.engine.banmodel import Estimate
    from boardsync_dagster.engine.fetcher import fetch_board_list, sync_members
    from boardsync_dagster.engine.ledger import MemoryLedger
    from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings

    settings = ProxySettings(proxy_api=vendor_url, vendor_format=spec.vendor_format)
    start = Estimate.from_dict(ban_start) if ban_start else None
    proxies = ProxyManager(settings, config, MemoryLedger(), ban_start=start)
    listed = fetch_board_list(client, proxies, config)
    members = None
    if listed.boards:
        checkpoint = lambda result: done.__setitem__(result.board.code, result)  # noqa: E731
        members = sync_members(listed.boards, client, proxies, config, checkpoint=checkpoint)
    return listed, members, proxies.stats.ips_dead_on_arrival, proxies.model.estimate().as_dict()


def _seed_run(spec: BenchSpec, seed: int, vendor_url: str, client, done: dict) -> tuple:
    """The seed's algorithm, its results in the engine's report shapes so that one _figures() serves both."""
    from boardsync_dagster.engine.fetcher import BoardListResult
    from boardsync_dagster.engine.types import SyncReport
    from boardsync_dagster.seed_algorithm import SeedParams, SeedRun

    params = SeedParams(workers=spec.workers, max_ips=spec.vendor.quota).scaled(spec.scale)
    result = SeedRun(client, vendor_url, params, seed).run()
    done.update(result.done)
    lists_failed = [f for f in result.failures if f.board.code.startswith("list:")]
    error = None if result.lists_complete else (result.stopped_reason or "board list failed")
    listed = BoardListResult(
        result.boards, {}, result.lists_complete, SyncReport(failures=lists_failed), error
    )
    members = SyncReport(
        ips_used=result.ips_used,
        requests=result.requests,
        errors=result.errors,
        failures=[f for f in result.failures if f not in lists_failed],
        stopped_reason=result.stopped_reason,
        vendor_refusals=result.vendor_refusals,
        unfinished=result.unfinished,
    )
    return listed, members, None  # the seed never knew which of its IPs were dead on arrival


def _figures(listed, members, done: dict, truth: dict, stats: dict, dead_on_arrival: int | None) -> dict:
    """The figures of one repeat; members is None when the list gave no board at all."""
    reports = [listed.report] + ([members] if members is not None else [])
    exact = {code for code, got in done.items() if code in truth and _exact(got, *truth[code])}
    kinds: dict[str, dict[str, int]] = {}
    for code, (board, rows) in truth.items():
        kind = kinds.setdefault(board.kind.value, {"ok": 0, "total": 0, "members": 0})
        kind["total"] += 1
        if code in exact:
            kind["ok"] += 1
            kind["members"] += len(rows)
    missing = {code: _reason(code, listed, members) for code in truth if code not in done}
    wrong = sorted(set(done) - exact)
    errors: dict[str, int] = {}
    for report in reports:
        for name, n in report.errors.items():
            errors[name] = errors.get(name, 0) + n
    requests = sum(r.requests for r in reports)
    ips = sum(r.ips_used for r in reports)
    return {
        "kinds": kinds,
        "boards_total": len(truth),
        "exact": len(exact),
        "wrong": len(wrong),
        "missing": len(missing),
        "wrong_boards": wrong,
        "missing_reasons": missing,
        "unexplained": sum(1 for reason in missing.values() if not reason),
        "list_exact": {b.code: b for b in listed.boards} == {c: b for c, (b, _) in truth.items()},
        "members": sum(len(got.members) for got in done.values()),
        "ips": ips,
        "ips_list": listed.report.ips_used,
        "requests": requests,
        "requests_list": listed.report.requests,
        "reached_eastmoney": stats["requests"],
        "requests_per_ip": requests / ips if ips else 0.0,
        "errors": errors,
        "bans": stats["bans"],
        "vendor_calls": stats["vendor_calls"],
        "vendor_refusals": stats["vendor_refusals"],
        "engine_refusals": sum(r.vendor_refusals for r in reports),
        "too_fast": stats["vendor_refusals"].get("too_fast", 0),
        "ips_dead_on_arrival": dead_on_arrival,
        "vendor_ips_today": stats["vendor_ips_today"],
        "ips_issued": stats["ips_issued"],
        "permanent_failures": sum(len(r.failures) for r in reports),
        "stopped": next((r.stopped_reason for r in reports if r.stopped_reason), None),
    }


def _exact(got, board, rows) -> bool:
    key = lambda m: m.stock_code  # noqa: E731 - one-line sort key
    return got.board == board and sorted(got.members, key=key) == sorted(rows, key=key)


def _reason(code: str, listed, members) -> str:
    """Why a board of the day has no result: its failure, the stop, or the list's error. '' is a bug."""
    if members is not None:
        for failure in members.failures:
            if failure.board.code == code:
                return f"{failure.error_class}: {failure.last_error}"
        if any(b.code == code for b in members.unfinished):
            return f"unfinished: {members.stopped_reason}"
    if not any(b.code == code for b in listed.boards):
        return f"not in the board list: {listed.error or 'list incomplete'}"
    return ""


def _rss_kib(field: str = "VmRSS") -> int:
    """This process's resident set now (VmRSS) or its peak so far (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# --- the parent: children, median --------------------------------------------------------------------------


def run_child(spec: BenchSpec, seed: int, algorithm: str = "ours", ban_start: dict | None = None) -> dict:
    """One repeat in a fresh interpreter, so its ru_maxrss is its own."""
    payload = json.dumps(
        {"spec": _spec_dict(spec), "seed": seed, "algorithm": algorithm, "ban_start": ban_start}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "boardsync_dagster.benchmark", payload],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"benchmark repeat ({algorithm}, seed {seed}) failed, exit {proc.returncode}: {proc.stderr[-2000:]}"
        )
    return json.loads(lines[-1])


def run_benchmark(spec: BenchSpec, progress=None) -> dict:
    """Every repeat (one child each, one after the other: they would compete for the cores), then the medians."""
    repeats = []
    for seed in spec.seeds():
        repeats.append(run_child(spec, seed))
        if progress is not None:
            progress(repeats[-1])
    return {"spec": _spec_dict(spec), "repeats": repeats, "median": median_figures(repeats)}


def median_figures(repeats: list[dict]) -> dict:
    """Per figure, the median over repeats (mean of the two middle ones for an even count), recursing into dicts
    (a key absent from a repeat counts as 0 there). Exactness is not a median: wrong and missing are the worst."""
    out = _median_of(repeats)
    for worst in ("wrong", "missing", "unexplained", "permanent_failures", "bans", "too_fast"):
        out[worst] = max(r[worst] for r in repeats)
    out["seed"] = None  # seeds are per repeat
    out["stopped"] = next((r["stopped"] for r in repeats if r["stopped"]), None)
    return out


def _median_of(values: list) -> object:
    if all(isinstance(v, dict) for v in values):
        keys = dict.fromkeys(k for v in values for k in v)
        return {k: _median_of([v.get(k, 0) for v in values]) for k in keys}
    if all(isinstance(v, bool) for v in values):
        return all(values)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return statistics.median(values)
    return None  # lists, text: per repeat only


def _spec_dict(spec: BenchSpec) -> dict:
    return dataclasses.asdict(spec)


def spec_from_dict(data: dict) -> BenchSpec:
    return BenchSpec(**{**data, "vendor": Vendor(**data["vendor"])})


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)  # the engine's warnings are in the figures; keep stderr short
    request = json.loads(argv[0])
    spec = spec_from_dict(request["spec"])
    print(json.dumps(run_repeat(spec, request["seed"], request["algorithm"], request.get("ban_start"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
