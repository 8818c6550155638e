"""The ban model: Eastmoney's per-IP limit, learned during the run from how IPs die, and the pacing it allows.

Eastmoney publishes no rule and changes it. What we see is when each request went out on each IP, and when an
IP that was serving starts failing every request (a ban). Two kinds of rule are kept under:
- a sliding window (at most B requests in any W seconds): by pacing each IP evenly, one request per `spacing`
  seconds, never faster (an evenly spaced IP never holds more than W / spacing requests in any W);
- a total per IP: by retiring an IP at a confirmed `cap`.
The pace grows while no IP is lost (slow start, x1.25 each pace_grow_every; after a loss, +10 % probes), and a
confirmed loss sets it just under the window rule that explains every loss and every answered request (when one
does), else cuts it x1.4 (AIMD's shape). Losses are noisy (a flaky proxy or two random drops look the same),
so a first loss only counts once a second one follows within an IP's life (at a similar count, or over the same
window: _same_window); in slow start the pace is held one cut slower meanwhile (_hold), and losses of IPs
that still carry the old pace echo the last change. A loss at a pace IPs have lived whole lives at, twice, means
the rule got stricter: learning starts again. docs/engine.md gives the reasons.
Not thread-safe: ProxyManager calls it under its lock.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from boardsync_dagster.engine.config import SyncConfig

# Slow start: the pace multiplies by this each pace_grow_every until the first ban (TCP's slow start, gentler).
SLOW_START = 1.25
# A total per IP is considered only for IPs lost at least this share into their life.
CAP_MIN_AGE = 0.5
# The cap probe: one IP goes this far past a confirmed cap (x, and at least CAP_PROBE_PAST requests: a ban's
# count is known to a request or two); unharmed there, the cap was a window misread.
CAP_PROBE = 1.05
CAP_PROBE_PAST = 3
# ... paced to get there by this share of its life.
CAP_PROBE_LIFE = 0.8
# Until the first ban, at most this many IPs at once: those live when slow start overshoots the rule are lost.
SLOW_START_LEASES = 2
# After a ban has given a ceiling, each quiet pace_reprobe_after the pace probes this much higher.
REPROBE = 1.10
# A ban at the current pace slows it at least this much (AIMD's multiplicative decrease).
DECREASE = 1.4
# An IP lost within this share of its life: the cut is DECREASE x (YOUNG x life / age), at most DEEPEST.
YOUNG = 0.15
DEEPEST = 4.0
# Probing past a learned window limit waits this many pace_reprobe_after since the last ban-driven change.
PATIENCE = 4
# A ban nothing explains (the rule got stricter): the pace is cut by this factor (AIMD's multiplicative decrease).
CUT = 1.5
# A pace not yet proven is blamed for a ban only after this many requests (fewer: a proxy's noise).
MIN_SERVED = 5
# An IP whose failures before its final streak were this share of its requests is flaky, not banned.
FLAKY_SHARE = 0.15
# Windows considered, each this much longer than the last (2^(1/16), 4.4 %): a rule's window between two of them
# is read as the longer, so a pace fitted to it errs slow by at most that much.
GRID = 2 ** (1 / 16)
# A fitted pace keeps this far under the fitted limit: send times are ours, Eastmoney counts arrivals.
FIT_MARGIN = 1.05
# Counts are ours, one request or two off Eastmoney's (a late send, a dropped reply it counted): a served IP
# holding up to this share more than a ban's count does not rule the window out.
COUNT_NOISE = 0.05
# Bans that say something of the rule (not an IP's end, a cap probe, or a ban at a proven pace, still in doubt).
EVIDENCE = ("doubtful", "window", "cap", "cap or window", "echo", "probe failed")


@dataclass
class Estimate:
    """What was learned, in seconds of the configuration's time: kept per vendor account and day."""

    spacing: float  # seconds between two requests on one IP
    window: float | None = None  # the ban window that explained the last ban, seconds
    window_limit: int | None = None  # at most this many requests in that window
    cap: int | None = None  # at most this many requests per IP, in total
    life: float | None = None  # how long an IP lives when the vendor does not say (None: not learned)
    bans: int = 0  # bans observed (this run, plus the runs the estimate came from)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Estimate:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class Ban:
    """One observed ban: when, after how many requests, and how many fell in each window before it."""

    at: float
    served: int
    counts: dict[float, int] = field(default_factory=dict)
    verdict: str = ""  # window, cap, cap or window, echo, probe failed, rule changed, end of life
    mean_spacing: float = 0.0  # the IP's age at the ban / requests it served
    spacing: float = 0.0  # the model's pace when it was observed


def window_counts(times: list[float], windows: list[float]) -> dict[float, int]:
    """The most requests any sliding window of each length held (times sorted)."""
    best = {}
    for w in windows:
        start, most = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - w:
                start += 1
            most = max(most, end - start + 1)
        best[w] = most
    return best


class BanModel:
    def __init__(self, config: SyncConfig, now: float, start: Estimate | None = None) -> None:
        self.cfg = config
        windows, k = [], 0
        while config.ban_window_min * GRID**k <= config.ban_window_max + 1e-9:
            windows.append(config.ban_window_min * GRID**k)
            k += 1
        self.windows = windows
        start = start or Estimate(spacing=config.pace_start_spacing)
        self._spacing = self._bounded(start.spacing)
        self.window, self.window_limit, self.cap, self.bans = (
            start.window,
            start.window_limit,
            start.cap,
            start.bans,
        )
        self._life = start.life if start.life is not None else config.ip_ttl
        self._life_fixed = False
        self._life_probed = False  # one IP of this run has been used past the assumed life until it ended
        # Ages at which life probes failed in slow start (a ban, or the end: see life_ended).
        self._life_ends: list[float] = []
        self._cap_probed = False  # one IP of this run went past the confirmed cap (see cap_probe_wanted)
        self._proven_age = 0.0  # the oldest an IP has been seen serving, at its end
        self._served_age = 0.0  # the oldest an IP has been seen serving, live (served)
        self._safe: dict[float, int] = dict.fromkeys(
            windows, 0
        )  # most requests any unharmed IP held per window
        self._safe_total = 0
        self._ceiling = start.window is not None or start.bans > 0  # slow start only when nothing is known
        self._since = now  # when the pace last changed
        # When a ban last changed the pace. A pace learned on an earlier run counts as set now: probing past it
        # waits PATIENCE quiet periods as after a ban (at once, it cost a day-2 run every IP then live).
        self._adjusted_at = now if self._ceiling else -math.inf
        self._limit_spacing = self._spacing  # the pace the last ban implied
        self._pace_proven = False
        self._cap_confirmed = (
            self.cap is not None
        )  # a cap carried over from an earlier run was confirmed there
        self._probed_at = -math.inf  # when the pace last went past the pace the last ban implied
        self._bans_seen: list[Ban] = []
        # In slow start, the pace a first loss in doubt implies (spacing, window, limit; no window: a cut): held
        # while it is judged, taken as learned if no IP is lost at it for an IP's life (see _hold); and since when.
        self._held: tuple[float, float | None, int | None] | None = None
        self._held_at = -math.inf
        self._held_from = 0.0  # the pace before the hold, that the first loss ran at
        self.observed: list[Ban] = []
        self.history: list[tuple[float, float, int | None]] = [(now, self._spacing, self.cap)]

    # --- what the manager asks ---------------------------------------------------------------------------------

    def spacing(self, now: float) -> float:
        """Seconds between two requests on one IP, now (the pace grows while no ban is seen)."""
        cfg = self.cfg
        step, factor = (
            (cfg.pace_reprobe_after, REPROBE) if self._ceiling else (cfg.pace_grow_every, SLOW_START)
        )
        while now - self._since >= step:
            self._since += step
            if any(
                b.verdict == "doubtful" and b.served >= MIN_SERVED and now - b.at < self._life
                for b in self.observed[-8:]
            ):
                continue  # a serving IP was lost: no growth until it is judged (within an IP's life)
            if self._held is not None:
                # A whole life at the held pace and no IP lost, where the faster pace before it lost one: learned.
                held, self._held = self._held, None
                self.window = round(held[1], 2) if held[1] is not None else None
                self.window_limit = held[2]
                self.bans += 1
                self._adjust(self._spacing, self._since)
                return self.spacing(now)
            faster = self._spacing / factor
            if self._ceiling and now - self._adjusted_at < PATIENCE * cfg.pace_reprobe_after:
                # Past the pace a ban implied (is the rule looser now?) only after a long quiet time.
                faster = max(faster, min(self._spacing, self._limit_spacing))
            elif self._ceiling and faster < self._limit_spacing:
                self._probed_at = self._since
            if faster != self._spacing:
                self._set(faster, self._since)
        return self._spacing

    @property
    def learned(self) -> bool:
        """True once a ban (this run or an earlier one) has set the pace: slow start is over."""
        return self._ceiling

    @property
    def holding(self) -> bool:
        """True while slow start holds the pace a first loss implies (see _hold)."""
        return self._held is not None

    def cap_limit(self) -> int | None:
        """Requests an IP may be sent in total before it is retired (None: no total limit confirmed)."""
        return self.cap if self._cap_confirmed else None

    def life(self) -> float:
        """How long to use an IP whose vendor states no expiry."""
        return self._life

    def cap_probe_wanted(self) -> bool:
        """True while a confirmed total cap has not been tested: two IPs dying at one count at two paces is also
        what a sliding window longer than their lives looks like, and a misread cap halves what an IP carries."""
        return self._cap_confirmed and self.cap is not None and not self._cap_probed

    def cap_probe_until(self) -> int:
        """Requests the cap probe carries past the cap before the cap counts as a window misread."""
        cap = self.cap or 0
        return cap + max(CAP_PROBE_PAST, math.ceil(cap * (CAP_PROBE - 1)))

    def cap_probe_spacing(self) -> float:
        """The cap probe's own pace: slow enough to reach past the cap late in its life, so that a long window
        misread as a cap cannot ban it, and it still carries more than an IP retired at the cap."""
        return max(self._spacing, CAP_PROBE_LIFE * self._life / self.cap_probe_until())

    def cap_probe_passed(self, now: float) -> None:
        """An IP went well past the cap unharmed: no total cap (a window the pace now keeps under)."""
        self.cap, self._cap_confirmed, self._cap_probed = None, False, True
        self.history.append((now, self._spacing, None))

    def cap_probe_failed(self, served: int, now: float) -> Ban:
        """The cap probe was banned past the cap: the cap stands, and the pace was not to blame."""
        self._cap_probed = True
        return self._keep(Ban(now, served, {}, "cap held"))

    def life_probe_wanted(self) -> bool:
        """True until one IP of this run has been used past the assumed life to its end (see life_ended)."""
        return not self._life_probed

    def longest_life(self) -> float:
        """How long a life probe may run: past this, the IP's life is taken as this."""
        return self.cfg.ip_ttl * 4

    def life_ended(
        self,
        age: float,
        now: float,
        failed: bool = True,
        answered: float | None = None,
        sent: list[float] | None = None,
    ) -> Ban:
        """The life probe ended at this age (it failed, or reached longest_life). It was used past the assumed
        life, so it can only lengthen it: a probe lost to a ban early still proves it lived that long.

        A probe that failed in slow start proves only that: the pace was still growing, and the oldest IP, the
        probe, is the first one the overshoot bans (often before the vendor's end: a 60 s life was fixed at 52 s,
        every later IP retired 8 s early). The life grows to its age, and the next IP to reach it probes again;
        two probes ending at one age (IPs' lives are alike, bans at one age twice are not) fix it.

        answered: the age of its last answered request. A probe left idle for long before its first failing one
        (after a cut, an IP waits for its burst to age: next_even_slot) ended somewhere in that gap: it lived at
        least that long, and the next IP to reach that age probes again. Fixed at the failing request, a 60 s
        life was read as 85 s, every later IP's end as a ban, and the pace cut itself down to 6.7 s a request
        (in a trial of a slow-start canary, not kept: its deeper cuts left the probe idle for 25 s).

        sent: its requests answered before its end. Every window they held is safe, as for any IP: left out, the
        two probes of slow start taught nothing, and a later fit took a 32 s window for the rule where 10 s was
        (1.13 s a request where 0.33 s was allowed: 27 IPs, bench w30-10s-403 seed 5)."""
        self._learn_safe(sent or [])
        if failed and answered is not None and age - answered > self._age_noise(age):
            self._life = max(self._life, min(answered, self.longest_life()))
            self._proven_age = max(self._proven_age, answered)
            return self._keep(Ban(now, 0, {}, "end of life, in an idle gap"))
        self._life = max(self._life, min(age - self.cfg.expiry_margin, self.longest_life()))
        self._proven_age = max(self._proven_age, age)
        again = any(abs(age - other) <= self._age_noise(age) for other in self._life_ends)
        if failed and not self._ceiling and not again:
            self._life_ends.append(age)
            return self._keep(Ban(now, 0, {}, "end of life, or slow start's ban"))
        self._life_fixed = self._life_probed = True
        return self._keep(Ban(now, 0, {}, "end of life"))

    def _age_noise(self, age: float) -> float:
        """How far apart two ages of an IP's end may lie and still be one end: the expiry margin, or 5 %."""
        return max(self.cfg.expiry_margin, 0.05 * age)

    def estimate(self) -> Estimate:
        life = self._life if self._life != self.cfg.ip_ttl else None
        return Estimate(self._spacing, self.window, self.window_limit, self.cap_limit(), life, self.bans)

    # --- what the manager tells --------------------------------------------------------------------------------

    def served(self, age: float) -> None:
        """An IP of this age answered a request: no IP of the vendor's ends younger than that (see banned)."""
        if age > self._served_age:
            self._served_age = age

    def unharmed(self, sent: list[float], age: float, now: float) -> None:
        """An IP retired without a ban after these requests: every window it held is safe."""
        self._learn_safe(sent)
        if self.cap is not None and not self._cap_confirmed and len(sent) > self.cap:
            self.cap = None  # an IP went past the cap unharmed: it was a window misread as a cap
        if self.cap is not None and not self._cap_confirmed and len(sent) >= self.cap:
            # Retired at a cap seen once, unharmed: it may be a window misread, try a little further. A confirmed
            # cap is tested by one IP at a time (the manager's cap probe), never by every IP at once.
            self.cap = math.ceil(self.cap * REPROBE)
        if not self._life_fixed and not self._life_ends and age >= self._life - 1e-9:
            # It lived its whole assumed life unharmed: maybe the vendor's IPs live longer (learned upward). Not
            # once a probe has ended: the life is at least its age, and the next probe finds the rest.
            self._life = min(self._life * REPROBE, self.longest_life())
        self._proven_age = max(self._proven_age, age)
        if self._ceiling and now - age >= self._adjusted_at and age >= 0.9 * self._life:
            # An IP lived its whole life at the pace the last ban set. In slow start no pace is proven: it grew
            # while that IP lived.
            self._pace_proven = True

    def banned(
        self,
        sent: list[float],
        served: int,
        age: float,
        now: float,
        vendor_expiry: bool,
        failed_age: float | None = None,
        flaky: bool = False,
    ) -> Ban:
        """An IP that served `served` requests failed every request since (sent: every request it was sent).

        age: its age now, at which the ban is weighed (at its first failing send an IP lost at its third request
        is younger than the shortest window, and no window explains any such loss); failed_age: when its first
        failing request went out (a life ends there, not when the failures confirming it came back); flaky: it
        failed now and then before (a flaky proxy, weighed in slow start all the same): in doubt, it holds no pace
        (_hold). Returns the verdict, also kept in `observed`."""
        before, failing = sent[:served], sent[: served + 1]
        counts = window_counts(failing, self.windows) if failing else {}
        ended = age if failed_age is None else failed_age
        if (
            not vendor_expiry
            and not self._life_fixed
            and age > self._proven_age
            and age >= 0.9 * self._life
            and self._served_age <= ended + self._age_noise(ended)
        ):
            # Older than any IP seen serving, past the life assumed before the last growth: the IP ended. Not when
            # an IP clearly older answered (a life probe, issued earlier and still serving): then the vendor's IPs
            # live longer, and this one was banned. Read as its end, slow start's first ban went unseen, the pace
            # grew on, and the next two IPs were lost at it (w30-10s seed 0: a ban at 54 s beside a probe at 60 s).
            self._life, self._life_fixed = max(ended - self.cfg.expiry_margin, self.cfg.ip_ttl / 4), True
            self._learn_safe(before)
            return self._keep(Ban(now, served, counts, "end of life"))
        # Fetched before a hold, it ran at the pace before it (the one slow start lost an IP at); fetched since, at
        # the held pace only: then the held pace is to blame.
        before_hold = self._held is not None and now - age < self._held_at
        lost_pace = self._held_from if before_hold else self._spacing
        if not self._recent_doubt(now, early=False, served=served) and not self._same_window(
            Ban(now, served, counts), lost_pace
        ):
            # One IP failing twice in a row may be a flaky proxy or two random drops; a ban that matters falls
            # on every IP at that pace: wait for a second one.
            return self._doubt(
                Ban(now, served, counts, "doubtful", spacing=self._spacing), before, None if flaky else age
            )
        from_held = self._held is not None and not before_hold
        self._held = None
        # IPs live at the last change still carry requests sent at the old pace: their bans echo that change.
        # One issued since then ran at the new pace only: its ban is news.
        # Since the manager re-times a live IP's requests to a new pace (next_even_slot), only an IP lost
        # within its first few requests after the change still echoes it; later, the new pace is to blame.
        echo = (
            now - self._adjusted_at < self._life
            and now - age <= self._adjusted_at
            and sum(1 for t in before if t > self._adjusted_at) < MIN_SERVED
        )
        # Windows (shorter than its life so far) in which it sent more than any IP ever did unharmed: a burst
        # beyond what is proven safe, what a sliding-window ban follows.
        burst = [w for w in self.windows if w < age and counts.get(w, 0) > max(self._safe[w], 1)]
        verdict = ""
        # An IP lost young says nothing of a total: a window longer than its age looks the same, and a cap misread
        # retires every IP at a fraction of its life (a pace cut keeps a real cap too: IPs then reach it late).
        old_enough = age >= CAP_MIN_AGE * self._life
        if old_enough and served >= self._safe_total and (self.cap is None or served <= self.cap):
            # Nobody went further unharmed: a total per IP explains it. Confirmed when a second IP dies at the
            # same count at another pace. The pace cut the first one caused stays: were the "cap" a long window
            # misread, undoing it would lose every IP again; kept, a real cap costs time, not IPs.
            mean = age / served
            confirmed = any(
                abs(b.served - served) <= max(1, 0.03 * served) and abs(b.mean_spacing - mean) > 0.2 * mean
                for b in self._bans_seen
            )
            self.cap, self._cap_confirmed = served, confirmed
            verdict = "cap"
        if verdict == "cap" and self._cap_confirmed:
            pass
        elif echo:
            verdict = verdict or "echo"
        elif now - self._probed_at < self._life:
            # A probe past the pace the last ban set failed: back to that pace, and wait long before the next.
            self._adjust(max(self._limit_spacing, self._spacing), now)
            self._probed_at = -math.inf
            verdict = "probe failed"
        elif burst or verdict == "cap" or (served >= MIN_SERVED and not self._pace_proven):
            # Multiplicative decrease: past the pace before the last growth step (x1.25), with a margin for the
            # requests that go out late and bunch up with the next one; from the pace of the first IP lost.
            first = [
                b.spacing
                for b in self.observed
                if b.verdict == "doubtful" and now - b.at < self._life and b.at > self._adjusted_at
            ]
            # Lost at a held pace: that pace is too fast too, cut from it (not from the faster one it replaced).
            cut = (self._spacing if from_held else min([self._spacing, *first])) * self._decrease(age)
            fit = None if verdict == "cap" else self._window_fit(Ban(now, served, counts))
            if fit is not None and fit[0] <= lost_pace:
                # Faster than the pace an IP was just lost at: what was seen is not one window rule.
                fit = None
            self._adjust(fit[0] if fit else cut, now)
            verdict = "cap or window" if verdict else "window"
            self.window, self.window_limit = (round(fit[1], 2), fit[2]) if fit else (None, None)
        elif not self._recent_doubt(now, early=True):
            # At a pace that IPs have lived whole lives at unharmed: a flaky proxy, or the rule got stricter.
            # A second one within an IP's life says which.
            return self._doubt(Ban(now, served, counts, "doubtful (stricter?)"), before)
        else:
            # The rule got stricter: forget what was safe under the old one and start again cautiously.
            self._safe = dict.fromkeys(self.windows, 0)
            self._safe_total = 0
            self.cap, self._cap_confirmed = None, False
            self._adjust(max(self._spacing * CUT, self.cfg.pace_start_spacing), now)
            self._ceiling = False
            verdict = "rule changed"
        self.bans += 1
        self._bans_seen.append(Ban(now, served, counts, verdict, age / max(served, 1)))
        self._learn_safe(before)
        self._since = now
        return self._keep(self._bans_seen[-1])

    def _window_fit(self, ban: Ban) -> tuple[float, float, int] | None:
        """(spacing, window, limit): the slowest pace that keeps under every sliding window rule explaining what was
        seen, with that window and its limit. None when no window explains it, or when the longest one considered
        still does (nothing seen bounds the window: a total per IP, or a window as long as IPs live, reads the
        same); the multiplicative cut then decides.

        A window W with limit B explains it when every ban held more than B in W (B <= the least count there, less
        the failing request) and no IP held more in W while it was answered (B >= the most, give or take
        COUNT_NOISE). An evenly spaced IP holds W / spacing in any W: the pace W / B, FIT_MARGIN slower.
        """
        # Only bans since learning last started again: those under an older, looser rule explain nothing now.
        since = max((b.at for b in self.observed if b.verdict == "rule changed"), default=-math.inf)
        bans = [
            b
            for b in [*self.observed, ban]
            if (b is ban or b.verdict in EVIDENCE) and b.served >= MIN_SERVED and b.at >= since
        ]
        if not ban.counts or not self._explainable(ban):
            return None
        # A loss that held less in every window than IPs held unharmed is no window's doing (a flaky proxy's
        # streak, an IP lost at its 8th request at 2.8 s): left in, its low counts ruled out every window, and
        # the next real loss went unconfirmed (one more IP lost, bench w30-10s-403 seed 4).
        bans = [b for b in bans if self._explainable(b)]
        if not bans:
            return None
        fits = []
        for w in self.windows:
            limit = min(b.counts.get(w, 0) for b in bans) - 1
            if self._safe[w] <= limit + math.ceil(COUNT_NOISE * limit) and limit >= 2:
                fits.append((w / limit * FIT_MARGIN, w, limit))
        if not fits or fits[-1][1] == self.windows[-1]:
            return None
        return max(fits)

    def _explainable(self, ban: Ban) -> bool:
        """Some window held more when this IP was lost than any IP held answered there (give or take noise)."""
        return any(
            n - 1 >= 2 and self._safe[w] <= n - 1 + math.ceil(COUNT_NOISE * (n - 1))
            for w, n in ban.counts.items()
        )

    def _same_window(self, ban: Ban, lost_pace: float) -> bool:
        """In slow start, a loss in doubt and this one both held more in one window than any IP held answered, and
        the pace this IP was lost at is faster than that window allows: one rule, the second loss. Their counts
        need not be alike: the IP lost in slow start dies at a count grown over its life, another at the
        overshooting pace after a fraction of it (30/10 s: 107, then 30; waiting for a third loss at ~30 cost one
        more IP). Not once a pace is learned: IPs then run at one pace and a real rule loses them at alike counts,
        while every IP holds what any lost one held, so a window just slower than the pace fits any two losses,
        noise too (two day-2 runs of a matrix cut their learned pace x1.4 with no ban by the simulator's count)."""
        if self._ceiling:
            return False
        pending = any(
            b.verdict == "doubtful" and b.served >= MIN_SERVED and ban.at - b.at < self._life
            for b in self.observed
        )
        if ban.served < MIN_SERVED or not pending:
            return False
        fit = self._window_fit(ban)
        return fit is not None and fit[0] > lost_pace

    def _decrease(self, age: float) -> float:
        """The cut for a ban at this age: DECREASE, deeper for an IP lost very young (a rule far stricter than the
        pace, as after a change mid-run: x1.4 cuts one at a time would each cost the IPs then live)."""
        return max(DECREASE, min(DEEPEST, YOUNG * self._life / max(age, 1e-9)))

    def _recent_doubt(self, now: float, early: bool, served: int | None = None) -> bool:
        """Another observation within an IP's life: doubtful ones, or for a first observation any ban at all,
        at a similar count (IPs banned by one rule at one pace die at similar counts; noise at any count)."""
        kinds = ("doubtful (stricter?)",) if early else ("doubtful", "echo", "window", "cap", "cap or window")
        return any(
            b.verdict in kinds
            and now - b.at < self._life
            and (served is None or served / 2 - 2 <= b.served <= served * 2 + 2)
            for b in self.observed
        )

    def _doubt(self, ban: Ban, before: list[float], age: float | None = None) -> Ban:
        if age is not None:
            self._hold(ban, age)
        self._learn_safe(before)
        return self._keep(ban)

    def _hold(self, ban: Ban, age: float) -> None:
        """In slow start, a first loss in doubt that a window explains (it held more there than any IP answered):
        hold the pace slower by the cut a confirmation would make while it is judged. Left at the pace that lost
        it, the IP fetched to replace it was lost too, ~30 requests in (30/10 s: that second loss confirmed the
        first, and only then was the pace set). Held, a second loss still confirms the rule (and cuts from the
        held pace if the IP ran at it only); none for an IP's life, and the held pace is learned (the faster one
        lost an IP, this one none). A loss that was a proxy's noise costs a pace one cut slower until re-probing
        lifts it."""
        if self._ceiling or ban.served < MIN_SERVED or self._held is not None or not self._explainable(ban):
            return
        # The cut a confirmation would make; a window fit from this one loss only where it is gentler: alone, one
        # loss rarely bounds the window (3 runs in 4 on 30/10 s fit none) and once read 0.60 s for 0.33 s.
        cut = self._spacing * self._decrease(age)
        fit = self._window_fit(ban)
        held = fit if fit is not None and self._spacing < fit[0] < cut else (cut, None, None)
        self._held, self._held_at, self._held_from = held, ban.at, self._spacing
        self._set(held[0], ban.at)

    # --- inside ------------------------------------------------------------------------------------------------

    def _learn_safe(self, sent: list[float]) -> None:
        if not sent:
            return
        for w, n in window_counts(sent, self.windows).items():
            self._safe[w] = max(self._safe[w], n)
        self._safe_total = max(self._safe_total, len(sent))

    def _adjust(self, spacing: float, now: float) -> None:
        self._pace_proven = False
        self._ceiling = True
        self._adjusted_at = now
        self._limit_spacing = self._bounded(spacing)
        self._set(spacing, now)

    def _set(self, spacing: float, now: float) -> None:
        self._spacing = self._bounded(spacing)
        self.history.append((now, self._spacing, self.cap))

    def _bounded(self, spacing: float) -> float:
        return min(max(spacing, self.cfg.pace_min_spacing), self.cfg.pace_max_spacing)

    def _keep(self, ban: Ban) -> Ban:
        self.observed.append(ban)
        self.history.append((ban.at, self._spacing, self.cap))
        return ban


def next_even_slot(sent: list[float], next_slot: float, spacing: float, pending: int = 0) -> float:
    """An IP's next slot, no earlier than if every request it sent (and the `pending` ones handed out, not sent
    yet) had gone out `spacing` apart. At a steady pace that is the next slot itself; after the pace is cut, an
    IP that ran at the old pace waits for its burst to age first. Without it, every IP live at a cut is banned
    for requests it sent before the cut: an echo that costs the IPs the cut was meant to keep."""
    free = next_slot
    for k, at in enumerate(reversed(sent), start=1):
        free = max(free, at + (k + pending) * spacing)
    return free


def leases_wanted(model: BanModel, now: float, backlog: int) -> int:
    """IPs to keep live: enough that their paces add up to the run's target rate, never more than tasks waiting.

    An IP carries life / spacing requests whatever the lease count, so the IPs a run costs follow the pace alone.
    While the pace still grows with time (slow start), fewer leases send fewer requests at the slow early pace.
    """
    spacing = model.spacing(now)
    want = math.ceil(spacing / model.cfg.pace_target_interval - 1e-9)
    if not model.learned and not model.holding:
        # Slow start overshoots the rule once by design: the IPs live at that moment are lost to it, so few. A held
        # pace follows a loss a window explains: kept to two leases while it was judged, w60-30s ran 18 % slower.
        want = min(want, SLOW_START_LEASES)
    # Near the end: no more IPs than two per whole life of work waiting (an IP fetched for the last few requests
    # is paid for in full; one per life would leave the tail too slow).
    per_ip = model.life() / spacing
    if model.cap_limit() is not None:
        per_ip = min(per_ip, model.cap_limit())
    return max(1, min(want, math.ceil(2 * max(backlog, 1) / max(per_ip, 1.0))))
