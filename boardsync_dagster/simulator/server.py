"""The Simulator: Eastmoney, the vendor and its proxies, started and stopped together."""

from __future__ import annotations

import dataclasses
import time
from types import TracebackType

from boardsync_dagster.engine.types import Board, Member
from boardsync_dagster.simulator import dataset, levels
from boardsync_dagster.simulator.ban_rules import BanRule, name_of
from boardsync_dagster.simulator.dataset import DayChanges
from boardsync_dagster.simulator.eastmoney import CLIST_PATH, EastmoneyServer
from boardsync_dagster.simulator.profiles import Profile, resolve
from boardsync_dagster.simulator.proxies import ProxyFleet
from boardsync_dagster.simulator.runtime import Runtime
from boardsync_dagster.simulator.vendor import EXTRACT_PATH, STATS_PATH, Vendor, VendorServer

VENDOR_FAULTS = (None, "down", "bad_key", "whitelist")


class Simulator:
    """Eastmoney's clist API and a proxy vendor on loopback, with faults; a context manager.

    Every duration (profile latencies and ban times, ip_ttl, min_interval) is in simulated seconds and runs
    scale times as fast: at scale=0.01 a 60 s proxy lives 0.6 s.
    """

    def __init__(
        self,
        profile: str | Profile = "calm",
        scale: float = 1.0,
        rng_seed: int = 0,
        boards_scale: float = 1.0,
        vendor_format: str = "text",
        vendor_key: str = "sim-key",
        proxy_user: str | None = None,
        proxy_password: str | None = None,
        quota: int = 200,
        min_interval: float = 2.0,
        ip_ttl: float = 60.0,
        ban_rule: str | BanRule | None = None,
        world: str = "classic",
    ) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.rng_seed = rng_seed  # of the data and the faults ("seed" alone means the original script)
        self.vendor_key = vendor_key
        self.ip_ttl = ip_ttl
        prof = _checked(resolve(profile), ban_rule, ip_ttl)
        self._runtime = Runtime(
            prof,
            scale,
            rng_seed,
            dataset.mark_over_reported(
                levels.generate(rng_seed, boards_scale, world), prof.over_report, rng_seed
            ),
        )
        self._eastmoney = EastmoneyServer(self._runtime)
        host, port = self._eastmoney.server_address[:2]
        auth = (proxy_user or "", proxy_password or "") if proxy_user or proxy_password else None
        self._fleet = ProxyFleet(self._runtime, (str(host), int(port)), auth)
        self._vendor = Vendor(
            self._runtime, self._fleet, vendor_format, vendor_key, quota, min_interval, ip_ttl
        )
        self._vendor_server = VendorServer(self._vendor, self.stats)
        self._started = False

    # -- life cycle

    def start(self) -> Simulator:
        if not self._started:
            self._fleet.start()
            self._eastmoney.start()
            self._vendor_server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._runtime.stopping.set()  # frees the handlers sitting in a slow reply or a latency
        self._vendor_server.stop()
        self._fleet.stop()
        self._eastmoney.stop()
        self._started = False

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses

    @property
    def eastmoney_url(self) -> str:
        return self._eastmoney.url

    @property
    def clist_url(self) -> str:
        return self._eastmoney.url + CLIST_PATH

    @property
    def vendor_url(self) -> str:
        return f"{self._vendor_server.url}{EXTRACT_PATH}?key={self.vendor_key}&num=1"

    @property
    def stats_url(self) -> str:
        return self._vendor_server.url + STATS_PATH

    # -- data

    def truth(self) -> dict[str, tuple[Board, list[Member]]]:
        return self._runtime.state.truth()

    @property
    def day(self) -> int:
        return self._runtime.state.day

    def advance_day(
        self,
        members_added: int = 20,
        members_removed: int = 20,
        boards_added: int = 1,
        boards_deleted: int = 1,
        boards_renamed: int = 1,
        boards_restored: int = 0,
    ) -> DayChanges:
        state, changes = dataset.advance(
            self._runtime.state,
            self.rng_seed,
            members_added,
            members_removed,
            boards_added,
            boards_deleted,
            boards_renamed,
            boards_restored,
        )
        self._runtime.state = dataset.mark_over_reported(
            state, self._runtime.profile.over_report, self.rng_seed
        )
        return changes

    # -- switches

    @property
    def profile(self) -> Profile:
        return self._runtime.profile

    def set_profile(self, profile: str | Profile, ban_rule: str | BanRule | None = None) -> None:
        prof = _checked(resolve(profile), ban_rule, self.ip_ttl)
        if prof.over_report != self._runtime.profile.over_report:
            self._runtime.state = dataset.mark_over_reported(
                self._runtime.state, prof.over_report, self.rng_seed
            )
        self._runtime.profile = prof

    def new_vendor_day(self) -> None:
        self._vendor.new_day()

    def vendor_fault(self, kind: str | None) -> None:
        if kind not in VENDOR_FAULTS:
            raise ValueError(f"vendor fault must be one of {VENDOR_FAULTS}")
        self._runtime.vendor_fault = kind

    def ban_all(self, banned: bool = True) -> None:
        self._runtime.ban_all = banned

    # -- observation

    def observe(self) -> tuple[dict, dict]:
        """truth() and stats() together, as RemoteSimulator answers them."""
        return self.truth(), self.stats()

    def stats(self) -> dict:
        counters = self._runtime.stats.snapshot()
        replies = counters.get("replies", {})
        return {
            "requests": sum(replies.values()),
            "replies": replies,
            "bans": self._eastmoney.bans.bans,
            "banned_ips": self._eastmoney.bans.banned_now(time.monotonic()),
            "vendor_calls": counters.get("vendor", {}).get("calls", 0),
            "vendor_refusals": counters.get("refusals", {}),
            "ips_issued": counters.get("ips", {}),
            "vendor_ips_today": self._vendor.used_today,
            "proxies": {**counters.get("proxies", {}), "live": self._fleet.live()},
            "sources": counters.get("sources", {}),
            "profile": self._runtime.profile.name,
            "ban_rule": name_of(self._runtime.profile.ban),
            "ban_rule_shifted": self._eastmoney.bans.shifted,
            "day": self._runtime.state.day,
        }


def _checked(profile: Profile, ban_rule: str | BanRule | None, ip_ttl: float) -> Profile:
    """The profile with ban_rule (a BanRule, a name or a spec) in place of its own, if given; a ban must cost the IP
    for longer than it lives, or waiting out a ban would be a strategy no real account has."""
    if ban_rule is not None:
        profile = dataclasses.replace(profile, ban=ban_rule)
    if profile.ban.bans and profile.ban.duration <= ip_ttl:
        raise ValueError(
            f"ban duration {profile.ban.duration:g} s must exceed the IP life ({ip_ttl:g} s): a ban costs the IP"
        )
    return profile
