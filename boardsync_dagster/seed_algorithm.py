"""The seed script's algorithm, as its document describes it: the benchmark's baseline, run on the same scenario.

A manager and N workers share ONE queue of (retry_count, target); a target is a whole board (or a board list),
fetched page by page by one worker. Each worker holds its OWN IP from the vendor URL, kept for TTL 45 ± 5 s;
vendor calls are spaced 2 s across threads (the seed's simplified leaky bucket, holding a lock while it waits).
Workers start 0-5 s apart and wait 1-2 s before every request. Any failure (timeout, connection, invalid_json,
empty_data, unknown) closes the worker's IP (mark_failed) and puts the whole board back at the tail with retry+1;
after 10 retries it fails for good. The board lists are two more targets in the same queue, so the run is list
then members, as ours.

Reused from the engine: the Eastmoney client (the same wire protocol and parsing) and the vendor answer parser;
none of the engine's scheduling. Clock and sleep are injectable; SeedParams.scaled() scales the durations as
SyncConfig.scaled() does. No Dagster import.
"""

from __future__ import annotations

import dataclasses
import queue
import random
import threading
from dataclasses import dataclass, field

from boardsync_dagster.engine.clock import Clock, SystemClock
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.errors import ErrorClass
from boardsync_dagster.engine.parse import Page
from boardsync_dagster.engine.proxy import http_get
from boardsync_dagster.engine.types import Board, BoardFailure, BoardKind, BoardResult
from boardsync_dagster.engine.vendor_formats import Refusal, parse_answer

# The seed's names for what went wrong (its error table); every one of them changes the IP.
SEED_ERRORS = {
    ErrorClass.TIMEOUT: "timeout",
    ErrorClass.CONNECTION: "connection",
    ErrorClass.PROXY_AUTH: "connection",
    # The seed called resp.json() on whatever came back: an HTML 502/403/429 page is a JSON error to it.
    ErrorClass.HTTP_5XX: "invalid_json",
    ErrorClass.HTTP_STATUS: "invalid_json",
    ErrorClass.INVALID_JSON: "invalid_json",
    ErrorClass.DATA_NULL: "empty_data",
    ErrorClass.EMPTY_PAGE: "empty_data",
    ErrorClass.SCHEMA: "unknown",
    ErrorClass.INCONSISTENT: "unknown",
}


@dataclass(frozen=True)
class SeedParams:
    """The seed's own numbers, from its document. Not settings of ours (SyncConfig's defaults may move away from
    them); the baseline must stay the script we replace."""

    workers: int = 6
    max_ips: int = 200
    ip_ttl: float = 45.0
    ttl_jitter: float = 5.0
    min_interval: float = 2.0  # MIN_INTERVAL between vendor calls
    req_delay_min: float = 1.0
    req_delay_max: float = 2.0
    start_stagger: float = 5.0
    timeout: float = 10.0
    max_retry: int = 10
    page_size: int = 100
    vendor_attempts: int = 5  # refused vendor calls in a row (too fast, unreachable) before the run gives up
    poll_interval: float = 0.2  # an idle worker looks at the queue again after this long

    def scaled(self, factor: float) -> SeedParams:
        durations = (
            "ip_ttl",
            "ttl_jitter",
            "min_interval",
            "req_delay_min",
            "req_delay_max",
            "start_stagger",
        )
        durations += ("timeout", "poll_interval")
        return dataclasses.replace(self, **{name: getattr(self, name) * factor for name in durations})


@dataclass
class SeedResult:
    boards: list[Board] = field(default_factory=list)  # the board lists as fetched
    lists_complete: bool = False
    done: dict[str, BoardResult] = field(default_factory=dict)
    failures: list[BoardFailure] = field(default_factory=list)
    unfinished: list[Board] = field(default_factory=list)
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ips_used: int = 0
    vendor_calls: int = 0
    vendor_refusals: int = 0
    stopped_reason: str | None = None


Target = Board | BoardKind  # a board's members, or a board list


class _OutOfIps(Exception):
    pass


class _WorkerIps:
    """Each worker's own IP; new ones from the vendor, one call per min_interval across all workers."""

    def __init__(self, vendor_url: str, params: SeedParams, clock: Clock, stop: threading.Event) -> None:
        self.vendor_url, self.params, self.clock, self.stop = vendor_url, params, clock, stop
        self._lock = threading.Lock()
        self._last_call: float | None = None
        self._held: dict[int, tuple[dict[str, str], float]] = {}
        self.ips_used = self.calls = self.refusals = 0

    def get(self, worker: int, rng: random.Random) -> dict[str, str]:
        held = self._held.get(worker)
        if held is not None and self.clock.monotonic() < held[1]:
            return held[0]
        proxies = self._extract()
        ttl = self.params.ip_ttl + rng.uniform(-self.params.ttl_jitter, self.params.ttl_jitter)
        self._held[worker] = (proxies, self.clock.monotonic() + ttl)
        return proxies

    def mark_failed(self, worker: int) -> None:
        self._held.pop(worker, None)

    def _extract(self) -> dict[str, str]:
        p = self.params
        with self._lock:  # the seed waited inside the lock: the other threads queue behind it
            for _ in range(p.vendor_attempts):
                if self.ips_used >= p.max_ips:
                    raise _OutOfIps(f"max_ips ({p.max_ips}) used")
                if self._last_call is not None:
                    wait = self._last_call + p.min_interval - self.clock.monotonic()
                    if wait > 0 and self.clock.sleep(wait, self.stop):
                        raise _OutOfIps("stopped")
                self.calls += 1
                try:
                    _, text = http_get(self.vendor_url, p.timeout)
                except OSError as exc:  # requests' errors are OSErrors: the vendor unreachable
                    text = type(exc).__name__
                # The seed stamped the time before its call; stamped after, the spacing survives a time scale
                # that makes 2 s shorter than the threads' jitter (at scale 1 the two are the same to a few ms).
                self._last_call = self.clock.monotonic()
                answer = parse_answer(text, "auto", self.clock.now())
                if answer.endpoints:
                    self.ips_used += 1
                    ep = answer.endpoints[0]
                    url = f"http://{ep.host}:{ep.port}"
                    return {"http": url, "https": url}
                self.refusals += 1
                if answer.refusal in (Refusal.QUOTA, Refusal.AUTH):
                    raise _OutOfIps(f"vendor refused: {answer.refusal}")
            raise _OutOfIps(f"vendor refused {p.vendor_attempts} calls in a row")


class SeedRun:
    def __init__(
        self,
        client: EastmoneyClient,
        vendor_url: str,
        params: SeedParams = SeedParams(),
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.client, self.params, self.seed = client, params, seed
        self.clock = clock or SystemClock()
        self.stop = threading.Event()
        self.ips = _WorkerIps(vendor_url, params, self.clock, self.stop)
        self.result = SeedResult()
        self._tasks: queue.SimpleQueue[tuple[int, Target]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0  # targets neither done nor failed for good
        self._lists_done = 0
        self._all_done = threading.Event()

    def run(self) -> SeedResult:
        for kind in (BoardKind.INDUSTRY, BoardKind.CONCEPT):
            self._add(kind)
        threads = [
            threading.Thread(target=self._worker, args=(i,), name=f"seed-worker-{i}", daemon=True)
            for i in range(self.params.workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        r = self.result
        r.unfinished = [t for t in self._drain() if isinstance(t, Board)]
        r.lists_complete = self._lists_done == 2
        r.ips_used, r.vendor_calls, r.vendor_refusals = self.ips.ips_used, self.ips.calls, self.ips.refusals
        return r

    # --- the queue ---------------------------------------------------------------------------------------------

    def _add(self, target: Target) -> None:
        with self._lock:
            self._pending += 1
        self._tasks.put((0, target))

    def _finish(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self._all_done.set()

    def _drain(self) -> list[Target]:
        """What is left in the queue after a stop: unfinished targets."""
        left = []
        while True:
            try:
                left.append(self._tasks.get_nowait()[1])
            except queue.Empty:
                return left

    # --- a worker ----------------------------------------------------------------------------------------------

    def _worker(self, index: int) -> None:
        p = self.params
        rng = random.Random(f"seed-algorithm:{self.seed}:{index}")
        if self.clock.sleep(rng.uniform(0, p.start_stagger), self.stop):
            return
        while not (self.stop.is_set() or self._all_done.is_set()):
            try:
                retry, target = self._tasks.get_nowait()
            except queue.Empty:
                self.clock.sleep(p.poll_interval, self.stop)
                continue
            try:
                proxies = self.ips.get(index, rng)
            except _OutOfIps as exc:
                self._tasks.put((retry, target))
                self.result.stopped_reason = self.result.stopped_reason or str(exc)
                self.stop.set()
                return
            outcome = self._fetch(target, proxies, rng)
            if outcome is None:  # stopped mid-board
                self._tasks.put((retry, target))
                return
            if isinstance(outcome, Page):
                self._complete(target, outcome)
                self._finish()
                continue
            with self._lock:
                self.result.errors[outcome] = self.result.errors.get(outcome, 0) + 1
            self.ips.mark_failed(index)
            if retry >= p.max_retry:
                board = target if isinstance(target, Board) else Board(f"list:{target}", str(target), target)
                self.result.failures.append(BoardFailure(board, outcome, outcome, retry + 1))
                self._finish()
            else:
                self._tasks.put((retry + 1, target))

    def _fetch(self, target: Target, proxies: dict[str, str], rng: random.Random) -> Page | str | None:
        """The whole target, page by page: a Page of all its rows, the seed's name of the first failure, or None
        when the run stops meanwhile."""
        p = self.params
        rows: list = []
        total, page_no = 0, 1
        while True:
            if self.clock.sleep(rng.uniform(p.req_delay_min, p.req_delay_max), self.stop):
                return None
            if isinstance(target, Board):
                page = self.client.member_page(target.code, page_no, proxies)
            else:
                page = self.client.board_list_page(target, page_no, proxies)
            with self._lock:
                self.result.requests += 1
            if page.error is not None:
                return SEED_ERRORS[page.error.error_class]
            total = page.total if page_no == 1 else total
            rows += page.rows
            if not page.rows or len(rows) >= total:
                return Page(total=total, rows=rows)
            page_no += 1

    def _complete(self, target: Target, page: Page) -> None:
        if isinstance(target, Board):
            pages = max(1, -(-len(page.rows) // self.params.page_size))
            result = BoardResult(target, page.total, page.rows, pages, len(page.rows) == page.total)
            with self._lock:
                self.result.done[target.code] = result
            return
        with self._lock:
            self.result.boards += page.rows
            self._lists_done += 1
        for board in page.rows:
            self._add(board)
