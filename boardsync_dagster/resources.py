"""The one Dagster resource of the sync, `sync`, generated from SyncConfig's declarations.

Its config schema is SyncConfig's fields (each optional: unset means the setting's environment variable, then its
default, the same rule as the CLI). Secrets are not fields at all, so a run config cannot carry one: Dagster
refuses an unknown field before the run is created. The proxy account is read from the environment at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from boardsync_dagster import settings
from boardsync_dagster.day import DayService
from boardsync_dagster.engine.banmodel import Estimate
from boardsync_dagster.engine.clock import SystemClock, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.errors import ConfigError
from boardsync_dagster.engine.ledger import account_id
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.ledgers import open_ledger
from boardsync_dagster.storage import DatabaseBusyError, Store


class SyncResourceBase(dg.ConfigurableResource):
    """Behaviour of the `sync` resource; its fields come from SyncConfig (see SyncResource below)."""

    _manager: ProxyManager | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._manager = None  # one ProxyManager per run: its leases and counters belong to that run

    def config(self) -> SyncConfig:
        """The resolved, validated settings; a bad one fails the step naming the field."""
        try:
            return settings.resolve({name: getattr(self, name) for name in type(self).model_fields})
        except ConfigError as exc:
            raise dg.Failure(
                description=f"Bad configuration: {exc}. Fix it in the run config (resource `sync`) and launch again."
            ) from exc

    def setting(self, name: str) -> Any:
        """One setting by the same rule as config(), without validating the others (the IO manager's file must
        not depend on, say, the request delays being consistent: those fail the step, with the reason)."""
        return settings.resolve_one(SyncConfig.__dataclass_fields__[name], getattr(self, name))

    def database_path(self) -> str:
        """The DuckDB file, absolute: dbt runs in dbt_project/, where a relative path names another file."""
        return str(Path(self.setting("database")).resolve())

    def manager(self, config: SyncConfig) -> ProxyManager:
        """This run's ProxyManager, shared by the board list and the members step (one set of leases)."""
        if self._manager is None:
            try:
                proxy = settings.proxy_from_env(config)
            except ConfigError as exc:  # names the field and the expected shape, never the value
                raise dg.Failure(
                    description=f"Bad proxy configuration: {exc}. Fix the BOARDSYNC_PROXY_* environment "
                    "variables and launch again."
                ) from None
            # The account's ledger: PostgreSQL when BOARDSYNC_LEDGER_DSN is set, else this DuckDB file.
            ledger = (
                open_ledger(self.database_path(), proxy.proxy_api, config.lock_wait)
                if proxy.proxy_api
                else None
            )
            learned = self.learned(proxy, config)
            self._manager = ProxyManager(proxy, config, ledger, clock=SystemClock(), ban_start=learned)
        return self._manager

    def learned(self, proxy: ProxySettings, config: SyncConfig) -> Estimate | None:
        """What the ban model learned on this vendor account up to today, so a run starts from it."""
        if not proxy.proxy_api:
            return None
        try:
            with Store(self.database_path(), wait_s=config.lock_wait) as store:
                saved = store.last_ban_estimate(account_id(proxy.proxy_api), vendor_day(SystemClock().now()))
        except DatabaseBusyError:
            return None  # start cautious: the step's own use of the file reports the busy file in words
        return Estimate.from_dict(saved) if saved else None

    def day(self, partition_key: str) -> DayService:
        """The day service of this partition; a day other than today fails the step with the reason."""
        config = self.config()
        try:
            return DayService.for_partition(
                partition_key,
                config,
                open_store=lambda: Store(self.database_path(), wait_s=config.lock_wait),
                client=EastmoneyClient(
                    config.eastmoney_url, timeout=config.timeout, page_size=config.page_size
                ),
                proxies=self.manager(config),
            )
        except ValueError as exc:
            raise dg.Failure(description=f"{exc}. Materialise today's partition instead.") from exc


def resource_class(cls: type = SyncConfig) -> type[SyncResourceBase]:
    """SyncResource: one optional field per field of cls (SyncConfig), described with its help and default."""
    python = {"bool": bool, "int": int, "float": float, "str": str, "codes": list[str]}
    annotations: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for f in settings.fields(cls):
        annotations[f.name] = python[settings.kind_of(f)] | None
        bounds = {"ge": f.metadata["minimum"], "le": f.metadata["maximum"]}
        attrs[f.name] = Field(
            default=None,
            description=settings.described(f),
            **{k: v for k, v in bounds.items() if v is not None},
        )
    return type(
        "SyncResource",
        (SyncResourceBase,),
        {
            "__annotations__": annotations,
            "__module__": __name__,
            "__doc__": "boardsync's settings (every SyncConfig field); secrets come from the environment only.",
            **attrs,
        },
    )


SyncResource = resource_class()
