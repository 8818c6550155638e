"""SyncConfig: every setting of boardsync, declared once. Names follow the seed script's flags.

Each field carries its help, unit, bounds and section (`setting()`); the CLI flags, the Dagster resource's config
schema and the settings table in docs/settings.md are generated from these declarations (`settings.py`), so a new
setting is one field here. Secrets (the vendor URL with its key, proxy user and password) are not settings: they
come from environment variables only (`ProxySecrets`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from boardsync_dagster.engine.errors import ConfigError

PACINGS = ("adaptive", "seed")
SECTIONS = ("run", "storage", "eastmoney", "proxy", "pacing", "stop rules")


def setting(
    default: Any,
    help: str,
    *,
    section: str,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    env: str | None = None,
    scaled: bool | None = None,
    advanced: bool = False,
) -> Any:
    """A SyncConfig field with what the generators need to know about it.

    unit "s" makes a duration, multiplied by `scaled()` (time-scaled demo and benchmark) unless scaled=False.
    env names a variable that supplies the value when neither a flag nor run config does.
    advanced settings are grouped apart in `--help` and the docs.
    """
    assert section in SECTIONS, section
    meta = {
        "help": help,
        "section": section,
        "unit": unit,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "env": env,
        "scaled": unit == "s" if scaled is None else scaled,
        "advanced": advanced,
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class SyncConfig:
    # --- run: what one run does -------------------------------------------------------------------------------
    force: bool = setting(
        False, "Fetch every board again, even those already checkpointed today.", section="run"
    )
    boards: tuple[str, ...] = setting(
        (),
        "Only these boards, comma-separated codes such as BK0596,BK1027 (default: the whole list).",
        section="run",
    )
    max_total_change: float = setting(
        0.2,
        "Warn when the day's boards or members move more than this share from the last complete day.",
        section="run",
        unit="share",
        minimum=0,
    )
    today: str | None = setting(
        None,
        "Replay only: treat this YYYY-MM-DD as today (the simulator's days). Leave unset against Eastmoney.",
        section="run",
        env="BOARDSYNC_TODAY",
        advanced=True,
    )
    time_scale: float = setting(
        1.0,
        "Simulator replays only: durations in reports are divided by this.",
        section="run",
        unit="factor",
        minimum=0,
        advanced=True,
    )
    # --- storage -----------------------------------------------------------------------------------------------
    database: str = setting(
        "data/boardsync.duckdb",
        "The DuckDB file: raw tables, checkpoint, quota ledger and dbt marts.",
        section="storage",
        env="BOARDSYNC_DB",
    )
    lock_wait: float = setting(
        30.0,
        "How long to wait while another process holds the DuckDB file.",
        section="storage",
        unit="s",
        scaled=False,
    )
    # --- eastmoney: the client and the fetcher's pacing ----------------------------------------------------------
    eastmoney_url: str = setting(
        "https://push2.eastmoney.com",
        "Base URL of the clist API (a mirror, or the simulator).",
        section="eastmoney",
        env="BOARDSYNC_EASTMONEY_URL",
    )
    workers: int = setting(6, "Worker threads sharing the one task queue.", section="eastmoney", minimum=1)
    req_delay_min: float = setting(
        1.0, "Least random delay before each request.", section="eastmoney", unit="s"
    )
    req_delay_max: float = setting(
        2.0, "Largest random delay before each request.", section="eastmoney", unit="s"
    )
    start_stagger: float = setting(
        5.0, "Workers start at random within this time.", section="eastmoney", unit="s"
    )
    timeout: float = setting(10.0, "HTTP timeout of one request.", section="eastmoney", unit="s", minimum=0)
    max_retry: int = setting(
        10, "Retries of one page before it is a permanent failure.", section="eastmoney", minimum=0
    )
    page_size: int = setting(
        100,
        "Rows per page; the server silently truncates above 100.",
        section="eastmoney",
        minimum=1,
        maximum=100,
        advanced=True,
    )
    progress_interval: float = setting(
        5.0, "Time between progress lines.", section="eastmoney", unit="s", minimum=0
    )
    rng_seed: int | None = setting(
        None,
        "Random seed of the delays and jitter, so a run replays (default: random).",
        section="eastmoney",
        advanced=True,
    )
    # --- proxy: the vendor account -----------------------------------------------------------------------------
    vendor_format: str = setting(
        "auto",
        "How the vendor answers: detected, or named.",
        section="proxy",
        choices=("auto", "text", "zhima", "kuaidaili", "xiaoxiang"),
    )
    direct: bool = setting(
        False, "Connect directly to Eastmoney even when proxy variables are set.", section="proxy"
    )
    max_ips: int = setting(
        200, "IPs the account may take per vendor day (Asia/Shanghai).", section="proxy", minimum=1
    )
    max_ips_per_run: int | None = setting(
        None,
        "Stop a run after this many IPs, so a total ban cannot burn the day (default: only max_ips).",
        section="proxy",
        minimum=1,
    )
    ip_ttl: float = setting(
        45.0,
        "Life of an IP when the vendor does not say when it expires (before jitter). Adaptive pacing starts "
        "from it and learns the real life: one IP is used past it until it ends.",
        section="proxy",
        unit="s",
        minimum=0,
    )
    ttl_jitter: float = setting(
        5.0,
        "Random +/- on each IP's life, so leases do not expire together.",
        section="proxy",
        unit="s",
    )
    min_interval: float = setting(
        2.0,
        "Least time between two vendor extraction calls, across all threads.",
        section="proxy",
        unit="s",
    )
    expiry_margin: float = setting(
        2.0,
        "When the vendor states an IP's expiry, the lease ends this long before it.",
        section="proxy",
        unit="s",
        advanced=True,
    )
    use_vendor_expiry: bool = setting(
        True,
        "Use an IP until its vendor-stated expiry instead of ip_ttl (the seed dropped IPs at 45 s of 60).",
        section="proxy",
        advanced=True,
    )
    # --- pacing: how fast each IP is used, and how many at once (engine/banmodel.py) ------------------------------
    pacing: str = setting(
        "adaptive",
        "adaptive: the learned ban model paces each IP and decides how many IPs run at once. seed: the seed "
        "script's fixed req_delay_min..max before each request, one IP shared by all workers, TTL ip_ttl.",
        section="pacing",
        choices=PACINGS,
    )
    pace_start_spacing: float = setting(
        1.0,
        "Adaptive: time between two requests on one IP when nothing is learned yet (cautious).",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    pace_min_spacing: float = setting(
        0.05,
        "Adaptive: the fastest one IP may be used.",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    pace_max_spacing: float = setting(
        60.0,
        "Adaptive: the slowest trickle per IP the model learns down to.",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    pace_target_interval: float = setting(
        0.15,
        "Adaptive: time between two requests of the whole run it aims for (0.15 s: ~6.7 requests/s, from "
        "as many IPs as the learned per-IP pace needs; the seed's six workers made ~4/s).",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    pace_grow_every: float = setting(
        10.0,
        "Adaptive: until the first ban, the per-IP pace grows x1.25 this often.",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    pace_reprobe_after: float = setting(
        60.0,
        "Adaptive: after a ban, +10 % pace this long without one (a rule that loosens is found again).",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    ban_window_min: float = setting(
        5.0,
        "Adaptive: the shortest ban window the model considers (then each 4.4 % longer).",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    ban_window_max: float = setting(
        320.0,
        "Adaptive: the longest ban window the model considers.",
        section="pacing",
        unit="s",
        minimum=0,
        advanced=True,
    )
    pace_jitter: float = setting(
        0.1,
        "Adaptive: each IP's next request waits its spacing times 1..1+pace_jitter (never lock-step).",
        section="pacing",
        unit="fraction",
        minimum=0,
        maximum=1,
        advanced=True,
    )
    # --- stop rules: when an IP, a board or the run gives up -----------------------------------------------------
    ip_fail_limit: int = setting(
        2,
        "IP-blamed failures in a row after which a lease is dropped. Adaptive pacing gives an IP that has "
        "served one more, and one that failed now and then before (a flaky proxy) twice as many plus one.",
        section="stop rules",
        minimum=1,
        advanced=True,
    )
    ban_stop_after: int = setting(
        8,
        "Stop when this many IPs in a row died without serving a request: Eastmoney bans every IP.",
        section="stop rules",
        minimum=1,
        advanced=True,
    )
    auth_stop_after: int = setting(
        3,
        "Stop when this many fresh IPs in a row answered 407: the proxy credentials are wrong.",
        section="stop rules",
        minimum=1,
        advanced=True,
    )
    vendor_attempts: int = setting(
        3,
        "Vendor unreachable or HTTP 5xx: attempts (min_interval apart) before giving up.",
        section="stop rules",
        minimum=1,
        advanced=True,
    )
    vendor_too_fast_limit: int = setting(
        5,
        "Vendor 'too fast' answers tolerated in a row before giving up; each doubles the wait before the next call.",
        section="stop rules",
        minimum=0,
        advanced=True,
    )
    vendor_unusable_limit: int = setting(
        3,
        "Vendor answers in a row whose every IP expires before it can be used (skipped, counted as waste) before "
        "the run stops: one is a short-lived IP or a rounded expiry; several, a clock or format problem.",
        section="stop rules",
        minimum=1,
        advanced=True,
    )
    gone_confirmations: int = setting(
        3,
        "A board whose page 1 answers data:null this many times, through IPs that serve other boards, and never "
        "with its rows this run, was deleted after the list: reported gone, not failed, and the IP is not blamed.",
        section="stop rules",
        minimum=1,
        advanced=True,
    )
    end_confirmations: int = setting(
        2,
        "An empty page past page 1 ends a board early only when seen this many times.",
        section="stop rules",
        minimum=0,
        advanced=True,
    )
    poll_interval: float = setting(
        0.2,
        "How often idle threads re-check the stop event.",
        section="stop rules",
        unit="s",
        minimum=0,
        advanced=True,
    )
    stop_grace: float = setting(
        1.0,
        "How long a stop waits for workers with a request in flight.",
        section="stop rules",
        unit="s",
        advanced=True,
    )

    def validate(self) -> SyncConfig:
        """Raise ConfigError naming the first bad field and what to do; return self for chaining."""
        for f in dataclasses.fields(self):
            _check_declared(f, getattr(self, f.name))
        for name in ("ip_ttl", "timeout", "progress_interval", "poll_interval"):
            _require(name, getattr(self, name) > 0, "must be > 0 seconds")
        _require(
            "ttl_jitter",
            self.ttl_jitter < self.ip_ttl,
            f"must be below ip_ttl ({self.ip_ttl}) so every lease lives a positive time",
        )
        _require(
            "req_delay_min",
            self.req_delay_min <= self.req_delay_max,
            f"({self.req_delay_min}) must not exceed req_delay_max ({self.req_delay_max})",
        )
        _require("time_scale", self.time_scale > 0, "must be > 0")
        for name in ("pace_min_spacing", "pace_target_interval", "pace_grow_every", "pace_reprobe_after"):
            _require(name, getattr(self, name) > 0, "must be > 0 seconds")
        _require(
            "pace_start_spacing",
            self.pace_min_spacing <= self.pace_start_spacing <= self.pace_max_spacing,
            "must lie between pace_min_spacing and pace_max_spacing",
        )
        _require(
            "ban_window_min",
            0 < self.ban_window_min <= self.ban_window_max,
            "must be > 0 and <= ban_window_max",
        )
        return self

    def scaled(self, factor: float) -> SyncConfig:
        """The same configuration with every duration multiplied by factor (time-scaled demo and benchmark)."""
        if not (isinstance(factor, int | float) and math.isfinite(factor) and factor > 0):
            raise ConfigError(f"scale: must be a positive number, got {factor!r}")
        return dataclasses.replace(self, **{name: getattr(self, name) * factor for name in DURATION_FIELDS})


# Fields that are durations: scaled() multiplies exactly these, so a run at scale s is the same run, faster.
DURATION_FIELDS = tuple(f.name for f in dataclasses.fields(SyncConfig) if f.metadata["scaled"])


def _check_declared(f: dataclasses.Field, value: object) -> None:
    """The checks every field's declaration implies: its type, its bounds, its choices."""
    meta, kind = f.metadata, type_name(f)
    if value is None and "None" in kind:
        return
    if kind.startswith("bool"):
        _require(f.name, isinstance(value, bool), "must be true or false")
    elif kind.startswith("int"):
        _require(f.name, _is_int(value), f"must be an integer >= {meta['minimum']}")
    elif kind.startswith("float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        unit = " of seconds" if meta["unit"] == "s" else ""
        _require(f.name, ok, f"must be a finite number{unit}, got {value!r}")
    elif kind.startswith("tuple"):
        _require(f.name, isinstance(value, tuple) and all(isinstance(v, str) for v in value), "must be codes")
    else:
        _require(f.name, isinstance(value, str) and value != "", "must be a non-empty text")
    minimum = meta["minimum"] if meta["minimum"] is not None else (0 if meta["unit"] == "s" else None)
    if minimum is not None and not isinstance(value, str | tuple):
        _require(f.name, value >= minimum, _bound_text(value, ">=", minimum, meta["unit"]))
    if meta["maximum"] is not None and not isinstance(value, str | tuple):
        extra = ": the server silently truncates larger pages" if f.name == "page_size" else ""
        _require(f.name, value <= meta["maximum"], f"must be <= {meta['maximum']}{extra}")
    if meta["choices"]:
        _require(f.name, value in meta["choices"], f"{value!r} is not one of {', '.join(meta['choices'])}")


def type_name(f: dataclasses.Field) -> str:
    """The annotation as written ("int | None"), whether postponed (a string) or a class."""
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _bound_text(value: object, op: str, bound: float, unit: str) -> str:
    what = "an integer" if isinstance(value, int) else "a number of seconds" if unit == "s" else "a number"
    return f"must be {what} {op} {bound}, got {value!r}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(field: str, ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(f"SyncConfig.{field}: {what}")
