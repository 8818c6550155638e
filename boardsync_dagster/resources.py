"""Thin Dagster resources around the engine. Config uses the seed script's flag names.

Secrets (the vendor URL with its key, proxy user and password) arrive as dagster.EnvVar, so Dagster stores
the variable's name, never its value, in run config and the event log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import dagster as dg
from pydantic import Field, PrivateAttr

from boardsync_dagster.engine.banmodel import Estimate, account_of
from boardsync_dagster.engine.clock import SHANGHAI, SystemClock, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.errors import ConfigError
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.storage import DatabaseBusyError, Store

DEFAULT_EASTMONEY_URL = "https://push2.eastmoney.com"
DEFAULT_DB = "data/boardsync.duckdb"


def from_env(value: str | None, name: str, default: str | None = None) -> str | None:
    """A field left unset falls back to its environment variable at run time.

    Dagster replaces a resource's code-set values (the EnvVars of definitions.py) with the class defaults as
    soon as a launchpad run config sets any one field of it, so a run that only changes `workers` would
    otherwise sync straight to Eastmoney without the proxy.
    """
    return value or os.environ.get(name) or default


class FileLedger:
    """The vendor quota ledger in the DuckDB file; a short connection per call (at most one call per IP)."""

    def __init__(self, path: str, wait_s: float = 30.0):
        self.path = path
        self.wait_s = wait_s

    def used(self, vendor_day: dt.date) -> int:
        with Store(self.path, wait_s=self.wait_s) as store:
            return store.used(vendor_day)

    def add(self, vendor_day: dt.date, n: int) -> None:
        with Store(self.path, wait_s=self.wait_s) as store:
            store.add(vendor_day, n)


def snapshot_day(partition_key: str, today_override: str | None = None) -> dt.date:
    """The partition's date, refused (ValueError) unless it is today in Asia/Shanghai: Eastmoney keeps no
    history. today_override (BOARDSYNC_TODAY) is for simulator replays."""
    day = dt.date.fromisoformat(partition_key)
    today = dt.date.fromisoformat(today_override) if today_override else dt.datetime.now(SHANGHAI).date()
    if day != today:
        raise ValueError(
            f"Partition {day} is not today ({today}, Asia/Shanghai). Eastmoney keeps no history, so syncing "
            f"now would store today's membership under {day}"
        )
    return day


class StorageResource(dg.ConfigurableResource):
    """Where the sync keeps its checkpoint and quota ledger, and which day is today."""

    database: str | None = Field(
        default=None, description="DuckDB file (BOARDSYNC_DB, else data/boardsync.duckdb)."
    )
    today: str | None = Field(
        default=None,
        description="Replay only: treat this YYYY-MM-DD as today. The simulator's days use it; leave unset "
        "against Eastmoney.",
    )
    lock_wait_s: float = Field(
        default=30.0, ge=0, description="How long to wait for another process to release the DuckDB file."
    )

    def snapshot_day(self, partition_key: str) -> dt.date:
        try:
            return snapshot_day(partition_key, from_env(self.today, "BOARDSYNC_TODAY"))
        except ValueError as exc:
            raise dg.Failure(description=f"{exc}. Materialise today's partition instead.") from exc

    def path(self) -> str:
        return from_env(self.database, "BOARDSYNC_DB", DEFAULT_DB)

    def open_store(self) -> Store:
        return Store(self.path(), wait_s=self.lock_wait_s)

    def ledger(self) -> FileLedger:
        return FileLedger(self.path(), self.lock_wait_s)


class EastmoneyResource(dg.ConfigurableResource):
    """The Eastmoney client and the fetcher's pacing."""

    base_url: str | None = Field(
        default=None, description="clist API base (BOARDSYNC_EASTMONEY_URL, else push2.eastmoney.com)."
    )
    workers: int = Field(default=6, ge=1, description="Worker threads sharing the one task queue.")
    req_delay_min: float = Field(default=1.0, ge=0, description="Least random delay before each request, s.")
    req_delay_max: float = Field(
        default=2.0, ge=0, description="Largest random delay before each request, s."
    )
    start_stagger: float = Field(default=5.0, ge=0, description="Workers start at random within this many s.")
    timeout: float = Field(default=10.0, gt=0, description="HTTP timeout per request, s.")
    max_retry: int = Field(
        default=10, ge=0, description="Retries of one page before it is a permanent failure."
    )
    progress_interval: float = Field(
        default=5.0, gt=0, description="Seconds between progress lines in the run log."
    )
    time_scale: float = Field(
        default=1.0, gt=0, description="Simulator replays only: durations in reports are divided by this."
    )

    def client(self) -> EastmoneyClient:
        return EastmoneyClient(
            from_env(self.base_url, "BOARDSYNC_EASTMONEY_URL", DEFAULT_EASTMONEY_URL), timeout=self.timeout
        )


class ProxyResource(dg.ConfigurableResource):
    """The proxy account: a vendor extraction URL, a fixed proxy or tunnel, or none (direct).

    Holds the one ProxyManager of this process (leaky bucket, leases, mark_failed), so the board list and the
    members step share leases instead of each buying IPs.
    """

    proxy_api: str | None = Field(default=None, description="Vendor extraction URL with its key (secret).")
    proxy_url: str | None = Field(default=None, description="Fixed proxy or tunnel http://host:port.")
    user: str | None = Field(default=None, description="Proxy user (secret).")
    password: str | None = Field(default=None, description="Proxy password (secret).")
    vendor_format: str = Field(default="auto", description="auto, text, zhima or kuaidaili.")
    max_ips: int = Field(
        default=200, ge=1, description="IPs the account may take per vendor day (Asia/Shanghai)."
    )
    max_ips_per_run: int | None = Field(default=None, ge=1, description="Stop a run after this many IPs.")
    ip_ttl: float = Field(default=45.0, gt=0, description="Seconds an IP is used, before jitter.")
    ttl_jitter: float = Field(default=5.0, ge=0, description="Random +/- seconds on each IP's TTL.")
    min_interval: float = Field(default=2.0, ge=0, description="Least seconds between two vendor calls.")

    _manager: ProxyManager | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._manager = None  # one ProxyManager per run: its leases and counters belong to that run

    def settings(self) -> ProxySettings:
        return ProxySettings(
            proxy_api=from_env(self.proxy_api, "BOARDSYNC_PROXY_API"),
            proxy_url=from_env(self.proxy_url, "BOARDSYNC_PROXY_URL"),
            user=from_env(self.user, "BOARDSYNC_PROXY_USER"),
            password=from_env(self.password, "BOARDSYNC_PROXY_PASSWORD"),
            vendor_format=self.vendor_format,
        )

    def manager(self, config: SyncConfig, storage: StorageResource) -> ProxyManager:
        if self._manager is None:
            settings = self.settings()
            self._manager = ProxyManager(
                settings, config, storage.ledger(), clock=SystemClock(), ban_start=learned(settings, storage)
            )
        return self._manager


def learned(settings: ProxySettings, storage: StorageResource) -> Estimate | None:
    """What the ban model learned on this vendor account up to today, so a run starts from it."""
    if not settings.proxy_api:
        return None
    try:
        with Store(storage.path(), wait_s=storage.lock_wait_s) as store:
            saved = store.last_ban_estimate(account_of(settings.proxy_api), vendor_day(SystemClock().now()))
    except DatabaseBusyError:
        return None  # start cautious: the step's own use of the file reports the busy file in words
    return Estimate.from_dict(saved) if saved else None


def sync_config(eastmoney: EastmoneyResource, proxy: ProxyResource) -> SyncConfig:
    """The engine's config from both resources, whose fields carry SyncConfig's names (the seed's flags);
    validate() names the offending field."""
    names = {f.name for f in dataclasses.fields(SyncConfig)}
    config = SyncConfig(
        **{
            name: getattr(r, name)
            for r in (eastmoney, proxy)
            for name in type(r).model_fields
            if name in names
        }
    )
    try:
        return config.validate()
    except ConfigError as exc:
        raise dg.Failure(
            description=f"Bad configuration: {exc}. Fix it in the resource config and launch again."
        ) from exc
