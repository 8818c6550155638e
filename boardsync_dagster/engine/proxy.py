"""ProxyManager: where IPs come from (vendor, fixed proxy/tunnel, or direct), how long each is used, and when to stop.

Adaptive pacing (the default, vendor mode): as many leases live at once as the learned per-IP pace needs for the
run's target rate (engine/banmodel.py), each IP used evenly at that pace until its life or its learned total ends;
acquire() hands out the next free slot of any live IP and waits for it. Seed pacing: one lease shared by all
workers, the workers wait their fixed delays. Vendor calls are single-flight and spaced min_interval apart.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests

from boardsync_dagster.engine.banmodel import (
    FLAKY_SHARE,
    BanModel,
    Estimate,
    leases_wanted,
    next_even_slot,
)
from boardsync_dagster.engine.clock import Clock, SystemClock, next_vendor_midnight, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.errors import (
    BanSuspected,
    ConfigError,
    FatalSyncError,
    IpBudgetSpent,
    LedgerUnavailable,
    QuotaExhausted,
    Stopped,
    VendorAnswerError,
    VendorAuthError,
    VendorUnavailable,
)
from boardsync_dagster.engine.ledger import MemoryLedger, QuotaLedger
from boardsync_dagster.engine.masking import Redactor, mask_url, redact_library_logs
from boardsync_dagster.engine.proxy_url import is_http_url, parse_proxy_url
from boardsync_dagster.engine.vendor_clock import VendorClock
from boardsync_dagster.engine.vendor_formats import FORMATS, Endpoint, Refusal, parse_answer

# (url, timeout) -> (HTTP status, body text[, Date header]); raises requests.RequestException when the vendor is
# unreachable. The Date header, when given, tells how far the vendor's clock is from ours (vendor_clock.py).
VendorGet = Callable[[str, float], tuple[int, str] | tuple[int, str, str | None]]


@dataclass(frozen=True)
class ProxySettings:
    proxy_api: str | None = field(default=None, repr=False)
    proxy_url: str | None = field(default=None, repr=False)
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    vendor_format: str = "auto"

    @property
    def mode(self) -> str:
        return "vendor" if self.proxy_api else "fixed" if self.proxy_url else "direct"

    def validate(self) -> ProxySettings:
        if self.proxy_api and self.proxy_url:
            raise ConfigError(
                "ProxySettings: give proxy_api (a vendor) or proxy_url (a fixed proxy), not both"
            )
        if self.vendor_format not in FORMATS:
            raise ConfigError(f"ProxySettings.vendor_format: {self.vendor_format!r} is not one of {FORMATS}")
        if self.proxy_api and not is_http_url(self.proxy_api):
            raise ConfigError(
                "ProxySettings.proxy_api: must be an http(s) URL such as https://vendor.example/get?key=... "
                "(value not shown: it holds the key)"
            )
        if bool(self.user) != bool(self.password):
            raise ConfigError("ProxySettings.user/password: give both or neither")
        if self.proxy_url:
            # Normalised once here (scheme added, credentials quoted): the manager only ever sees a plain URL.
            return dataclasses.replace(
                self, proxy_url=parse_proxy_url(self.proxy_url, "ProxySettings.proxy_url").url()
            )
        return self

    def __repr__(self) -> str:
        shown = mask_url(self.proxy_api or self.proxy_url or "") or "direct"
        auth = ", user=***" if self.user else ""
        return f"ProxySettings({self.mode}: {shown}{auth}, vendor_format={self.vendor_format!r})"


@dataclass(eq=False)
class Lease:
    """One IP as handed to workers. Counters are changed only under the manager's lock."""

    id: int
    label: str  # host:port, or "direct" / "fixed proxy": never credentials
    proxies: dict[str, str] | None = field(repr=False)
    address: tuple[str, int] = ("", 0)
    issued_at: float = 0.0
    expires_at: float = float("inf")
    requests: int = 0
    successes: int = 0
    consecutive_failures: int = 0
    failed: bool = (
        False  # never handed out again: dropped, or (adaptive pacing) retired at the end of its use
    )
    # Adaptive pacing: when each request went out, the next free slot, slots handed out, whether the vendor
    # stated the expiry, and the answered requests / failures before the current failure streak began.
    sent: list[float] = field(default_factory=list, repr=False)
    dropped: list[float] = field(default_factory=list, repr=False)  # send times of its IP-blamed failures
    next_slot: float = 0.0
    scheduled: int = 0
    vendor_expiry: bool = False
    streak_from: int = 0
    failures_before_streak: int = 0
    life_probe: bool = False  # used past the assumed life until it ends: how long the vendor's IPs live
    cap_probe: bool = False  # used past the learned total cap: is it a cap, or a window misread?


@dataclass
class ProxyStats:
    ips_used: int = 0  # IPs the vendor issued to this run
    vendor_calls: int = 0
    refusals: int = 0  # vendor answers that issued nothing (too fast, quota, auth, garbage)
    too_fast: int = 0
    vendor_unreachable: int = 0
    ips_failed: int = 0  # leases invalidated by mark_failed / report_failure
    ips_dead_on_arrival: int = 0  # invalidated before serving a single request
    ips_unusable: int = 0  # issued already expired (or within expiry_margin of it): never used, waste


# The longest vendor message quoted in an error.
MESSAGE_CHARS = 200


class ProxyManager:
    def __init__(
        self,
        settings: ProxySettings,
        config: SyncConfig,
        ledger: QuotaLedger | None = None,
        clock: Clock | None = None,
        *,
        vendor_get: VendorGet | None = None,
        rng: random.Random | None = None,
        ban_start: Estimate | None = None,
    ) -> None:
        self.settings = settings.validate()
        self.config = config
        self.ledger = ledger if ledger is not None else MemoryLedger()
        self.clock = clock or SystemClock()
        self.stats = ProxyStats()
        self.redact = Redactor([settings.proxy_api, settings.proxy_url, settings.user, settings.password])
        redact_library_logs(self.redact)
        self._vendor_get = vendor_get or http_get
        self._rng = rng or random.Random(config.rng_seed)
        self._lock = threading.Condition()
        self._current: Lease | None = None
        self._spares: list[Lease] = []
        self._extracting = False
        self._fatal: FatalSyncError | None = None
        self._vendor_clock = VendorClock()
        self._next_id = 1
        self._failed_addresses: set[tuple[str, int]] = set()
        # Whether each of the last ban_stop_after invalidated-or-retired IPs ever served a request.
        self._recent_ips: collections.deque[tuple[Lease, bool]] = collections.deque(
            maxlen=config.ban_stop_after
        )
        self._fixed = None if settings.mode == "vendor" else self._fixed_lease()
        # Adaptive pacing: the model, the live leases, and the tasks waiting (set by the fetcher; a bound on how
        # many leases are worth holding).
        self.model = BanModel(config, self.clock.monotonic(), ban_start)
        self._pool: list[Lease] = []
        self.backlog = 1_000_000
        self._no_more_ips: FatalSyncError | None = None
        self._served = False  # some IP of this manager has served a request
        self._life_probe: Lease | None = None
        self._cap_probe: Lease | None = None
        # The send time of the request each worker thread sent last: the one its next report answers.
        self._mine = threading.local()

    @property
    def rotating(self) -> bool:
        """True when a failed IP can be exchanged for another (vendor mode)."""
        return self._fixed is None

    @property
    def paced(self) -> bool:
        """True when acquire() paces the requests (adaptive, vendor mode); else the workers wait fixed delays.
        A fixed proxy or direct connection keeps the seed's delays: its one IP must not be risked probing."""
        return self.config.pacing == "adaptive" and self.rotating

    def ban_summary(self) -> dict:
        """What the ban model learned, for the run report: the estimate, its history, the bans and verdicts."""
        with self._lock:
            start = self.model.history[0][0]
            return {
                "estimate": self.model.estimate().as_dict(),
                "history": [
                    {"t_s": round(t - start, 2), "spacing_s": round(sp, 4), "cap": cap}
                    for t, sp, cap in self.model.history
                ],
                "bans": [
                    {"t_s": round(b.at - start, 2), "served": b.served, "verdict": b.verdict}
                    for b in self.model.observed
                ],
            }

    def __repr__(self) -> str:
        return f"ProxyManager({self.settings!r}, {self.stats})"

    # --- leases -----------------------------------------------------------------------------------------------

    def acquire(self, stop_event: threading.Event | None = None) -> Lease:
        """A lease to send one request through now. Raises a FatalSyncError when the run must stop.

        Adaptive: waits for the next free slot of any live IP. Seed: the shared live lease, at once."""
        if self.paced:
            return self._paced_acquire(stop_event)
        with self._lock:
            while True:
                if self._fatal is not None:
                    raise self._fatal
                if self._fixed is not None:
                    return self._fixed
                if stop_event is not None and stop_event.is_set():
                    raise Stopped("stop requested")
                lease = self._live_lease()
                if lease is not None:
                    return lease
                if not self._extracting:
                    self._extracting = True
                    break
                # Single-flight: another thread is calling the vendor; wait for its lease instead of calling too.
                self._lock.wait(self.config.poll_interval)
        return self._fetch_leases(stop_event)[0]

    def _fetch_leases(self, stop_event: threading.Event | None) -> list[Lease]:
        """Extract (this thread holds the in-flight flag) and publish the new leases."""
        leases: list[Lease] = []
        try:
            leases = self._extract(stop_event)
        except FatalSyncError as exc:
            with self._lock:
                if isinstance(exc, QuotaExhausted | IpBudgetSpent) and self._pool:
                    self._no_more_ips = exc  # the live IPs may still finish the run: stop when they are gone
                elif not isinstance(exc, Stopped):
                    self._fatal = exc
                raise
        finally:
            # Publish, clear the flag and wake the waiters in one critical section: a waiter woken before the
            # lease is published would find none and call the vendor a second time for the same need.
            with self._lock:
                if leases and self.paced:
                    if self._cap_probe is None and self.model.cap_probe_wanted():
                        leases[0].cap_probe, self._cap_probe = True, leases[0]
                    self._pool.extend(leases)
                elif leases:
                    self._current = leases[0]
                    self._spares.extend(leases[1:])
                self._extracting = False
                self._lock.notify_all()
        return leases

    def _paced_acquire(self, stop_event: threading.Event | None) -> Lease:
        while True:
            lease, slot = self._reserve_slot(stop_event)
            if lease is None:
                try:
                    self._fetch_leases(stop_event)
                except (QuotaExhausted, IpBudgetSpent):
                    if self._no_more_ips is None:
                        raise
                continue
            wait = slot - self.clock.monotonic()
            if wait > 0 and self.clock.sleep(wait, stop_event):
                raise Stopped("stop requested")
            with self._lock:
                if not lease.failed:  # dropped while this thread waited for its slot: take another
                    lease.sent.append(self.clock.monotonic())
                    self._mine.sent_at = lease.sent[-1]
                    return lease

    def _reserve_slot(self, stop_event: threading.Event | None) -> tuple[Lease | None, float]:
        """The live lease with the earliest free slot and that slot, reserved; (None, 0) when this thread is to
        extract more leases (it then holds the in-flight flag)."""
        with self._lock:
            while True:
                if self._fatal is not None:
                    raise self._fatal
                if stop_event is not None and stop_event.is_set():
                    raise Stopped("stop requested")
                now = self.clock.monotonic()
                self._prune(now)
                if not self._pool and self._no_more_ips is not None:
                    self._fatal = self._no_more_ips
                    raise self._fatal
                wanted = leases_wanted(self.model, now, self.backlog)
                serving = any(lease.successes for lease in self._pool)
                if not serving and (
                    not self._served or (self._recent_ips and not self._recent_ips[-1][0].successes)
                ):
                    # No IP has served yet, or the last one judged never did (dead, or a ban on everything) and no
                    # live one has since: one at a time until one does, so a total ban costs ban_stop_after IPs,
                    # not that plus a fan-out. A live IP that serves ends it (waiting for it to be judged, at the
                    # end of its life, left a run on one IP for a minute after any dead one).
                    wanted = 1
                if len(self._pool) < wanted and not self._extracting and self._no_more_ips is None:
                    self._check_quota_fits(now)
                    self._extracting = True
                    return None, 0.0
                if self._pool:
                    spacing = self.model.spacing(now)
                    # Each lease's history is walked once (under the lock, on every request); only the cap probe,
                    # paced slower than the others, is walked again at its own spacing.
                    free, lease = min(((_next_free(c, spacing), c) for c in self._pool), key=lambda p: p[0])
                    if lease.cap_probe:
                        spacing = self.model.cap_probe_spacing()
                        free = _next_free(lease, spacing)
                    slot = max(now, free)
                    # Never faster than learned: the jitter only lengthens the gap (requests not in lock-step).
                    lease.next_slot = slot + spacing * (1 + self.config.pace_jitter * self._rng.random())
                    lease.scheduled += 1
                    return lease, slot
                self._lock.wait(self.config.poll_interval)

    def _prune(self, now: float) -> None:
        """Drop failed leases; retire those at the end of their life or of their learned total."""
        cap = self.model.cap_limit()
        live = []
        for lease in self._pool:
            if lease.failed:
                continue
            self._follow_life_probe(lease, now)
            ended = now >= lease.expires_at or lease.next_slot >= lease.expires_at
            if ended and self._start_life_probe(lease):
                ended = False
            elif ended and lease.life_probe:
                self._life_learned(lease, lease.expires_at - lease.issued_at, now, failed=False)
            at_cap = cap is not None and lease.scheduled >= cap
            if at_cap and not ended:
                at_cap = not self._probe_cap(lease, now)
                cap = self.model.cap_limit()
            if ended or at_cap:
                if lease.cap_probe:  # its life ended first: past the cap far enough, or no answer
                    self._end_cap_probe(lease, now)
                lease.failed = True  # retired: never handed out again
                if lease.successes:
                    age = (lease.expires_at if ended else now) - lease.issued_at
                    self.model.unharmed(_seen(lease, final_streak=False)[0], age, now)
                if lease.scheduled:  # judged on its final record, replies in flight included (_remember)
                    self._remember(lease)
                continue
            live.append(lease)
        self._pool = live

    def _probe_cap(self, lease: Lease, now: float) -> bool:
        """A lease at the learned cap: True when it is the cap probe (chosen when issued, paced slowly) and goes on
        past the cap instead of retiring."""
        if not lease.cap_probe:
            return False
        if lease.successes >= self.model.cap_probe_until():
            self._end_cap_probe(lease, now)  # well past the cap unharmed: used on to the end of its life
            lease.cap_probe = False
        return True

    def _end_cap_probe(self, lease: Lease, now: float) -> None:
        """The cap probe retires or reached its count: past the cap far enough unharmed, the cap was a misread."""
        if lease.successes >= self.model.cap_probe_until():
            self.model.cap_probe_passed(now)
        self._cap_probe = None

    def _start_life_probe(self, lease: Lease) -> bool:
        """When the vendor states no expiry, the life is a guess (ip_ttl, the seed's 45 s): one healthy IP reaching
        it is used on until it fails, so one IP, not generations of IPs used ×1.1 longer each, learns the life.
        Its end costs a failed request or two; it can only lengthen the life (see BanModel.life_ended)."""
        if (
            lease.vendor_expiry
            or self._life_probe is not None
            or not self.model.life_probe_wanted()
            or not lease.successes
            or lease.consecutive_failures
            or (self.model.cap_limit() is not None and lease.scheduled >= self.model.cap_limit())
        ):
            return False
        lease.life_probe, self._life_probe = True, lease
        lease.expires_at = lease.issued_at + self.model.longest_life()
        return True

    def _follow_life_probe(self, lease: Lease, now: float) -> None:
        """While the probe serves, every IP lives at least as long as it has: a younger lease is not retired at
        the guessed life (retired early, a whole generation of IPs would be paid for unused life)."""
        probe = self._life_probe
        if probe is None or lease is probe or lease.vendor_expiry or probe.consecutive_failures:
            return
        # A younger lease ends after the probe does: it may look one expiry_margin ahead of the probe's age.
        proven = now - probe.issued_at + self.config.expiry_margin
        lease.expires_at = max(lease.expires_at, lease.issued_at + proven)

    def _life_learned(
        self, lease: Lease, age: float, now: float, failed: bool = True, answered: float | None = None
    ) -> None:
        """The probe ended at this age: every live IP without a stated expiry lives as long as learned."""
        seen, served = _seen(lease, final_streak=failed)
        self.model.life_ended(age, now, failed, answered, sent=seen[:served] if failed else seen)
        self._life_probe = None
        life = self.model.life()
        for other in self._pool:
            if not other.vendor_expiry and not other.life_probe:
                other.expires_at = other.issued_at + life  # in place of the guess, or of following the probe

    def _check_quota_fits(self, now: float) -> None:
        """Once a ban has set the pace: stop early, keeping the rest of the day's quota, when the work waiting
        needs more IPs than are left (a rule so strict that each IP carries only a trickle)."""
        if not self.model.learned or self.backlog >= 1_000_000:
            return
        cap = self.model.cap_limit()
        per_ip = self.model.life() / self.model.spacing(now)
        per_ip = max(1.0, min(per_ip, cap) if cap is not None else per_ip)
        needed = math.ceil(self.backlog / per_ip) - len(self._pool)
        day = vendor_day(self.clock.now())
        left = self.config.max_ips - self._ledger("read", self.ledger.used, day)
        if needed > left:
            self._fatal = QuotaExhausted(
                f"at the pace Eastmoney allows now (about {per_ip:.0f} requests per IP), the {self.backlog} "
                f"requests still waiting need about {needed} IPs and {left} are left today; stopped to keep them; "
                f"{self._renewal()}"
            )
            raise self._fatal

    def report_success(self, lease: Lease) -> None:
        with self._lock:
            self._served = True
            lease.requests += 1
            lease.successes += 1
            lease.consecutive_failures = 0
            if self.paced:
                self.model.served(self.clock.monotonic() - lease.issued_at)

    def report_failure(self, lease: Lease, auth_refused: bool = False) -> bool:
        """An IP-blamed failure. Returns True when the lease is now dropped.

        A lease goes after ip_fail_limit failures in a row. Fresh leases too: six workers fire at once on a new IP,
        and its first reply failing (a flaky proxy drops instantly) says little while five more are in flight.
        A dead IP fails all of them, so it still goes within the first replies.
        auth_refused: the proxy answered 407; when fresh IPs keep doing that, the credentials are wrong.
        """
        with self._lock:
            lease.requests += 1
            sent_at, self._mine.sent_at = getattr(self._mine, "sent_at", None), None
            if sent_at is not None:
                lease.dropped.append(sent_at)
            if lease.failed:
                return True
            if lease.consecutive_failures == 0:
                lease.streak_from = lease.requests - 1
                lease.failures_before_streak = lease.requests - 1 - lease.successes
            lease.consecutive_failures += 1
            if lease.consecutive_failures >= self._fail_limit(lease):
                if self.paced and not auth_refused:
                    self._observe_ban(lease)
                self._invalidate(lease, auth_refused)
                return True
            return False

    def _fail_limit(self, lease: Lease) -> int:
        """Failures in a row that drop this lease. Adaptive pacing pays for an IP's whole life, so one that has
        served gets one more try (two random drops in a row end ~6 % of good IPs' lives at ~150 requests each),
        and one that failed now and then before (a flaky proxy, still carrying most requests) twice as many. A
        ban or the IP's end fails every request: it still goes within a few replies."""
        limit = self.config.ip_fail_limit
        if not self.paced or not lease.successes:
            return limit
        return 2 * limit + 1 if _flaky(lease) else limit + 1

    def _observe_ban(self, lease: Lease) -> None:
        """A serving IP now failing every request: a ban for the model, unless it never served (dead on arrival)
        or failed often before (a flaky proxy: its streak is noise, not Eastmoney's rule). The life probe's end
        is its life."""
        served = lease.streak_from
        if lease.successes == 0 or served == 0:
            return
        now = self.clock.monotonic()
        # Its age when the first failing request went out, for the life it teaches: it ended before that, and the
        # failures that confirm it take ip_fail_limit + 1 more sends (at a slow pace, seconds: measured at `now`, a
        # 60 s life was learned as 63 s, and the next day's IPs were used past their end and read as banned). A ban
        # is weighed at its age now (BanModel.banned says why).
        failed_age = _age_at_send(lease, served, now)
        if lease.life_probe:
            # ... and its age at its last answered request: between the two, it ended.
            self._life_learned(lease, failed_age, now, answered=_age_at_send(lease, served - 1, now))
            return
        if lease.cap_probe:  # _invalidate, next, frees the probe's place
            self.model.cap_probe_failed(served, now)
            return
        if _flaky(lease) and self.model.learned:
            # In slow start it still counts: the pace grows while a real ban on a flaky IP (one in ten) goes
            # unseen, and overshoots the rule a step further. The model's pair rule keeps one streak from a cut.
            return
        seen, served = _seen(lease, final_streak=True)
        self.model.banned(
            seen, served, now - lease.issued_at, now, lease.vendor_expiry, failed_age, _flaky(lease)
        )

    def mark_failed(self, lease: Lease) -> None:
        """Invalidate exactly this IP, now: it is never handed out again. Idempotent; never calls the vendor."""
        with self._lock:
            if not lease.failed:
                self._invalidate(lease)

    def _invalidate(self, lease: Lease, auth_refused: bool = False) -> None:
        if lease is self._fixed:
            self._fixed_banned(lease)
            return
        lease.failed = True
        if lease is self._life_probe:
            self._life_probe = None  # dropped before its end was seen (a flaky streak): another IP probes
        if lease is self._cap_probe:
            self._cap_probe = None
        self._failed_addresses.add(lease.address)
        self.stats.ips_failed += 1
        if lease.successes == 0:
            self.stats.ips_dead_on_arrival += 1
        if self._current is lease:
            self._current = None
        self._spares = [s for s in self._spares if s is not lease]
        self._remember(lease, auth_refused)

    def _remember(self, lease: Lease, auth_refused: bool = False) -> None:
        """Stop when IPs die faster than they work, so a total ban (or wrong credentials) cannot burn the day.

        The leases themselves are kept, not a verdict at drop time: replies still in flight when an IP is dropped
        may succeed afterwards, and then that IP worked.
        """
        self._recent_ips.append((lease, auth_refused))
        recent = [
            "worked" if old.successes else "407" if refused else "dead" for old, refused in self._recent_ips
        ]
        auth = recent[-self.config.auth_stop_after :]
        if len(auth) == self.config.auth_stop_after and all(r == "407" for r in auth):
            self._fatal = VendorAuthError(
                f"the last {len(auth)} proxies all answered 407: the proxy user/password is wrong"
            )
        elif len(recent) == self._recent_ips.maxlen and "worked" not in recent and not self._live_serving():
            self._fatal = BanSuspected(
                f"Eastmoney appears to ban every IP: the last {len(recent)} IPs all failed "
                "before serving a single request"
            )

    def _live_serving(self) -> bool:
        """A live IP has served: Eastmoney does not ban every IP. Dead ones are judged within seconds, good ones
        only at the end of their life, so early in a run the last IPs judged can all be dead while live ones serve
        (bench w10-10s, seed 8: stopped at 88 of 527 boards, "ban every IP", with 7 IPs serving)."""
        live = [*self._pool, *self._spares, *([self._current] if self._current else [])]
        return any(lease.successes and not lease.failed for lease in live)

    def _fixed_banned(self, lease: Lease) -> None:
        """A fixed proxy or direct connection has no other IP to switch to, so the vendor mode's rule (stop after
        ban_stop_after IPs in a row each failed ip_fail_limit times) becomes: stop after as many failures in a row
        on the one IP. Random drops never chain that long; a ban fails every request."""
        limit = self.config.ban_stop_after * self.config.ip_fail_limit
        if lease.consecutive_failures >= limit and self._fatal is None:
            self._fatal = BanSuspected(
                f"Eastmoney appears to ban this IP ({lease.label}): the last {lease.consecutive_failures} "
                "requests all failed, and a fixed proxy or direct connection cannot switch to another IP"
            )

    def _live_lease(self) -> Lease | None:
        now = self.clock.monotonic()
        for lease in [self._current, *self._spares]:
            if lease is not None and not lease.failed and now < lease.expires_at:
                self._current = lease
                self._spares = [s for s in self._spares if s is not lease and now < s.expires_at]
                return lease
        retired = self._current
        if retired is not None and not retired.failed and retired.requests > 0:
            self._remember(retired)
        self._current = None
        self._spares = []
        return None

    # --- the vendor -------------------------------------------------------------------------------------------

    def _extract(self, stop_event: threading.Event | None) -> list[Lease]:
        """Call the vendor (spaced across every process of the account, bounded retries) until it issues IPs or
        the run must stop."""
        unreachable = too_fast = unknown = unusable = 0
        while True:
            claimed = self._wait_for_slot(stop_event)
            try:
                day = self._reserve()
            except FatalSyncError:
                # No call was made: give the slot back now instead of holding it for `timeout`.
                self._ledger("written", self.ledger.call_ended, claimed, self._wall())
                raise
            self.stats.vendor_calls += 1
            hold = 0.0  # extra seconds every consumer of the account waits before the next call
            answer = refusal = None
            sent = self.clock.now()
            try:
                reply = self._vendor_get(self.settings.proxy_api or "", self.config.timeout)
                status, text = reply[0], reply[1]
                self._vendor_clock.observe(sent, self.clock.now(), reply[2] if len(reply) > 2 else None)
                if 0 < status < 500:
                    # Expiries are read in the vendor's clock (relative ones from its "now"), then moved to ours.
                    offset = self._vendor_clock.offset()
                    vendor_now = self.clock.now() - dt.timedelta(seconds=offset)
                    answer = parse_answer(text, self.settings.vendor_format, vendor_now)
                    refusal = refusal_of(answer, status)
                if refusal is Refusal.TOO_FAST:
                    # The vendor wants more room than min_interval gives: back off, doubling, for everyone.
                    too_fast += 1
                    hold = self.config.min_interval * (2**too_fast - 1)
            except requests.RequestException as exc:
                status, text = 0, type(exc).__name__
            finally:
                self._ledger("written", self.ledger.call_ended, claimed, self._wall() + hold)
            if answer is None:
                self._release(day, 1)
                unreachable += 1
                self.stats.vendor_unreachable += 1
                if unreachable >= self.config.vendor_attempts:
                    raise VendorUnavailable(
                        f"proxy vendor {self._shown_api()} unreachable after {unreachable} attempts "
                        f"(last: {self.redact(text)[:80] if status == 0 else f'HTTP {status}'})"
                    )
                continue
            if answer.endpoints:
                self._release(day, 1 - len(answer.endpoints))
                self.stats.ips_used += len(answer.endpoints)
                fresh = [ep for ep in answer.endpoints if (ep.host, ep.port) not in self._failed_addresses]
                leases = self._leases(fresh, offset)
                self.stats.ips_unusable += len(fresh) - len(leases)
                if leases:
                    return leases
                if not fresh:
                    continue  # the vendor handed back an IP we marked failed: it is never used again
                unusable += 1
                if unusable >= self.config.vendor_unusable_limit:
                    raise VendorAnswerError(self._expired_on_arrival(unusable, fresh[-1], vendor_now, offset))
                continue
            self.stats.refusals += 1
            # Mask first, then shorten: a secret cut in two would no longer be recognised.
            message = self.redact(answer.message)[:MESSAGE_CHARS]
            if refusal is Refusal.TOO_FAST:
                self._release(day, 1)
                self.stats.too_fast += 1
                if too_fast > self.config.vendor_too_fast_limit:
                    raise VendorUnavailable(
                        f"the vendor kept answering 'too fast' ({message}) after {too_fast} ever longer "
                        "waits; raise min_interval"
                    )
                continue
            if refusal is Refusal.UNKNOWN:
                # A "no" we cannot read is not a quota answer: release, back off, ask again a bounded number
                # of times. Marking the day spent on a guess would block every later run that day.
                self._release(day, 1)
                unknown += 1
                if unknown >= self.config.vendor_attempts:
                    raise VendorUnavailable(
                        f"the vendor refused {unknown} times in a row in words we cannot classify ({message}); "
                        "nothing was recorded as quota spent"
                    )
                if self.clock.sleep(self.config.min_interval * 2 ** (unknown - 1), stop_event):
                    raise Stopped("stop requested")
                continue
            if refusal is Refusal.QUOTA:
                self._release(day, 1)
                # The vendor knows better than our ledger (another consumer?): record the day as spent.
                self._ledger("written", self.ledger.mark_spent, day, self.config.max_ips)
                raise QuotaExhausted(
                    f"the vendor says the daily quota is spent: {message}; {self._renewal()}"
                )
            if refusal is Refusal.AUTH:
                self._release(day, 1)
                raise VendorAuthError(f"the vendor refused the account (key, whitelist or login): {message}")
            # Garbage: the vendor may have counted an IP, so the reservation stays.
            raise VendorAnswerError(f"unusable vendor answer (HTTP {status}): {message}")

    def _wall(self) -> float:
        """Epoch seconds from the injected clock: the call spacing is shared with other processes."""
        return self.clock.now().timestamp()

    def _wait_for_slot(self, stop_event: threading.Event | None) -> float:
        """Claim the account's next vendor call in the ledger, waiting while another thread or process holds it
        or called less than min_interval ago. Returns the claim's marker for call_ended.

        The account is marked busy for `timeout` (the longest a call takes), so no other process calls while
        this call is in flight; a waiter re-checks at least every min_interval, so a call that ends early frees
        the slot early. Each round sleeps a positive time, so the loop ends once nobody else is calling."""
        cfg = self.config
        while True:
            if stop_event is not None and stop_event.is_set():
                raise Stopped("stop requested")
            now = self._wall()
            wait = self._ledger("written", self.ledger.claim_call, now, cfg.min_interval, cfg.timeout)
            if wait is None:
                return now + cfg.timeout
            pause = min(wait, max(cfg.min_interval, cfg.poll_interval)) or cfg.poll_interval
            if self.clock.sleep(pause, stop_event):
                raise Stopped("stop requested")

    def _reserve(self) -> object:
        """Count one IP before asking for it (a crash mid-call never under-counts the day), atomically against
        the cap, so two processes can never both take the last IP."""
        with self._lock:
            per_run = self.config.max_ips_per_run
            if per_run is not None and self.stats.ips_used >= per_run:
                raise IpBudgetSpent(f"this run has used its cap of {per_run} IPs (max_ips_per_run)")
        day = vendor_day(self.clock.now())
        if not self._ledger("written", self.ledger.reserve, day, 1, self.config.max_ips):
            used = self._ledger("read", self.ledger.used, day)
            raise QuotaExhausted(
                f"the daily proxy quota is spent: {used}/{self.config.max_ips} IPs used on vendor day {day}; "
                f"{self._renewal()}"
            )
        return day

    def _release(self, day, n: int) -> None:
        if n:
            self._ledger("written", self.ledger.add, day, -n)

    def _ledger(self, what: str, method, *args):
        try:
            return method(*args)
        except Exception as exc:  # a ledger we cannot use must stop the run, not kill a worker thread
            raise LedgerUnavailable(f"the quota ledger cannot be {what}: {self.redact(str(exc))}") from exc

    def _renewal(self) -> str:
        now = self.clock.now()
        midnight = next_vendor_midnight(now)
        minutes = int((midnight - now).total_seconds() // 60)
        return (
            f"it renews at {midnight:%Y-%m-%d %H:%M} Asia/Shanghai (in {minutes // 60} h {minutes % 60} min)"
        )

    def _expired_on_arrival(self, batches: int, ep: Endpoint, vendor_now: dt.datetime, offset: float) -> str:
        left = (ep.expires_at - vendor_now).total_seconds() if ep.expires_at else 0.0
        return (
            f"the vendor issued {batches} batches in a row of IPs that expire before they can be used "
            f"(last: {left:.1f} s left, expiry_margin {self.config.expiry_margin:g} s, vendor clock "
            f"{-offset:+.1f} s from ours by its Date header; clock, timezone or vendor_format wrong?)"
        )

    def _leases(self, endpoints: list[Endpoint], offset: float = 0.0) -> list[Lease]:
        """Leases for the endpoints that live past expiry_margin; offset: seconds from the vendor's clock to ours."""
        cfg = self.config
        now_mono, now_wall = self.clock.monotonic(), self.clock.now()
        leases = []
        with self._lock:
            for ep in endpoints:
                if self.paced:  # the learned life (ip_ttl until learned); leases are issued apart anyway
                    end = now_mono + self.model.life()
                else:
                    end = now_mono + cfg.ip_ttl + self._rng.uniform(-cfg.ttl_jitter, cfg.ttl_jitter)
                if ep.expires_at is not None:
                    left = (ep.expires_at - now_wall).total_seconds() + offset
                    vendor_end = now_mono + left - cfg.expiry_margin
                    end = vendor_end if cfg.use_vendor_expiry else min(end, vendor_end)
                if end <= now_mono:
                    continue
                leases.append(
                    Lease(
                        self._next_id,
                        f"{ep.host}:{ep.port}",
                        self._proxy_dict(ep),
                        address=(ep.host, ep.port),
                        issued_at=now_mono,
                        expires_at=end,
                        next_slot=now_mono,
                        vendor_expiry=ep.expires_at is not None and cfg.use_vendor_expiry,
                    )
                )
                self._next_id += 1
        return leases

    def _proxy_dict(self, ep: Endpoint) -> dict[str, str]:
        url = f"http://{self._userinfo()}{ep.host}:{ep.port}"
        return {"http": url, "https": url}

    def _userinfo(self) -> str:
        """'user:password@', each URL-quoted, or '' without credentials (validate() allows both or neither)."""
        user, password = self.settings.user, self.settings.password
        return f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""

    def _fixed_lease(self) -> Lease:
        url = self.settings.proxy_url
        if url is None:
            return Lease(0, "direct", None)
        parts = urlsplit(url)
        userinfo = "" if parts.username else self._userinfo()
        if userinfo:
            url = f"{parts.scheme}://{userinfo}{parts.netloc}{parts.path}"
        return Lease(0, f"fixed proxy {parts.hostname}:{parts.port}", {"http": url, "https": url})

    def quota_left(self) -> int | None:
        """IPs the vendor account has left today, by the ledger; None in direct or fixed-proxy mode."""
        if self.settings.mode != "vendor":
            return None
        return max(
            self.config.max_ips - self._ledger("read", self.ledger.used, vendor_day(self.clock.now())), 0
        )

    def _shown_api(self) -> str:
        return mask_url(self.settings.proxy_api or "")


def _age_at_send(lease: Lease, index: int, now: float) -> float:
    """The lease's age when its request number `index` (from 0) went out; `now` if it was not sent."""
    return (lease.sent[index] if index < len(lease.sent) else now) - lease.issued_at


def _next_free(lease: Lease, spacing: float) -> float:
    """The lease's next slot at this pace, its sent requests re-timed (banmodel.next_even_slot)."""
    pending = max(0, lease.scheduled - len(lease.sent))  # slots handed out, not sent yet
    return next_even_slot(lease.sent, lease.next_slot, spacing, pending)


def _seen(lease: Lease, final_streak: bool) -> tuple[list[float], int]:
    """Its requests as Eastmoney saw them, and how many came before its final failure streak (final_streak: judged
    at a ban; else retired, every failure noise). A flaky proxy drops requests itself: they never reach Eastmoney.
    Counted, a flaky IP held more than Eastmoney saw, unharmed, and that ruled the true window out: two flaky IPs
    in slow start held ~38 in 10 s on `30/10s` (seed 5), the fit read a shorter window and paced faster than the
    rule, one more IP was lost and the cut after it left the pace 24 % slower than the rule. Other IPs fail rarely,
    at Eastmoney as often as not: all their requests count."""
    drops, of = (
        (lease.failures_before_streak, lease.streak_from)
        if final_streak
        else (len(lease.dropped), lease.requests)
    )
    if not _flaky_share(drops, of):
        return lease.sent, lease.streak_from
    left = collections.Counter(lease.dropped[:drops])
    seen = []
    for at in lease.sent:
        if left[at]:
            left[at] -= 1
        else:
            seen.append(at)
    return seen, lease.streak_from - drops


def _flaky(lease: Lease) -> bool:
    """Failed now and then before its current streak: a flaky proxy."""
    return _flaky_share(lease.failures_before_streak, lease.streak_from)


def _flaky_share(failures: int, requests: int) -> bool:
    """FLAKY_SHARE of at least 4 requests failed: a flaky proxy."""
    return requests >= 4 and failures / requests >= FLAKY_SHARE


def http_get(url: str, timeout: float) -> tuple[int, str, str | None]:
    with requests.Session() as session:
        session.trust_env = False
        resp = session.get(url, timeout=timeout)
        return resp.status_code, resp.text, resp.headers.get("Date")


def refusal_of(answer, status: int) -> Refusal | None:
    """The refusal an answer means: the vendor's own (code, then words); for words we cannot read, HTTP's."""
    if answer.refusal in (Refusal.UNKNOWN, Refusal.UNUSABLE):
        return {429: Refusal.TOO_FAST, 401: Refusal.AUTH, 403: Refusal.AUTH}.get(status, answer.refusal)
    return answer.refusal
