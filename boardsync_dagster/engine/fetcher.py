"""The manager (the calling thread) and its workers, sharing one queue of (retry_count, page task)."""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from boardsync_dagster.engine.clock import Clock
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.errors import (
    ACTIONS,
    ErrorClass,
    FatalSyncError,
    FetchError,
    Stopped,
    VendorAuthError,
)
from boardsync_dagster.engine.pages import PageBook
from boardsync_dagster.engine.parse import Page, expected_code
from boardsync_dagster.engine.proxy import ProxyManager
from boardsync_dagster.engine.report import stop_message
from boardsync_dagster.engine.types import Board, BoardFailure, BoardKind, BoardResult, KindReport, SyncReport
from boardsync_dagster.engine.workqueue import WorkQueue

log = logging.getLogger("boardsync.engine")


@dataclass
class Progress:
    boards_done: int
    boards_total: int
    members: int
    ips_used: int
    requests: int
    errors: dict[str, int]
    elapsed_s: float
    eta_s: float | None


@dataclass
class BoardListResult:
    boards: list[Board]
    reported_totals: dict[BoardKind, int]
    complete: bool
    report: SyncReport
    error: str | None = None


@dataclass(frozen=True)
class BoardTarget:
    """What a page task fetches: one board's members."""

    board: Board

    @property
    def key(self) -> str:
        return self.board.code

    @property
    def kind(self) -> BoardKind:
        return self.board.kind

    def fetch(self, client: EastmoneyClient, page: int, proxies: dict[str, str] | None) -> Page:
        return client.member_page(self.board.code, page, proxies)

    @staticmethod
    def row_key(row) -> str:
        return row.stock_code

    def as_board(self) -> Board:
        return self.board


@dataclass(frozen=True)
class ListTarget:
    """What a page task fetches: the board list of one kind."""

    kind: BoardKind

    @property
    def key(self) -> str:
        return f"{self.kind.value} list"

    def fetch(self, client: EastmoneyClient, page: int, proxies: dict[str, str] | None) -> Page:
        return client.board_list_page(self.kind, page, proxies)

    @staticmethod
    def row_key(row) -> str:
        return row.code

    def as_board(self) -> Board:
        """A stand-in board named after the list, so reports list a failed list like a failed board."""
        return Board(self.key, self.key, self.kind)


Target = BoardTarget | ListTarget


@dataclass(frozen=True)
class Task:
    target: Target
    page: int
    generation: int


@dataclass
class _Done:
    task: Task
    retry: int
    outcome: Page | FetchError
    via: str = ""  # the lease's label: which IP answered


@dataclass
class _Fatal:
    error: FatalSyncError


@dataclass
class _State:
    book: PageBook
    last_error: FetchError | None = None
    # What the board's pages got wrong (an empty page inside it, a short ending), while re-fetching: if the
    # retries run out, this is the board's reason, not the last unrelated IP error.
    problem: FetchError | None = None
    # The IPs through which page 1 answered data:null, once each answer (the board may be gone).
    null_via: list[str] = field(default_factory=list)
    # Page 1 answered with its rows once this run: the board exists, and a later data:null is a fault, not its end.
    exists: bool = False
    attempts: int = 0
    finished: bool = False


def outcome_of(page_no: int, page: Page) -> Page | FetchError:
    """Turn a parsed page into success or a classified error, knowing which page it was.

    Past page 1, an empty page or data:null is how the pages end (the total can be over-reported): a success for
    the IP, judged by the PageBook. On page 1 of a board with members, either is a bad answer.
    """
    if page.error is not None:
        if page.error.error_class is ErrorClass.DATA_NULL and page_no > 1:
            return Page(total=-1, rows=[])
        return page.error
    if page_no == 1 and not page.rows and page.total > 0:
        return FetchError(ErrorClass.EMPTY_PAGE, f"page 1 is empty but total is {page.total}")
    return page


class _Run:
    def __init__(
        self, targets, *, client, proxies, config, clock, stop_event, on_complete, progress=None
    ) -> None:
        self.targets: list[Target] = targets
        self.client = client
        self.proxies: ProxyManager = proxies
        self.cfg: SyncConfig = config
        self.clock: Clock = clock
        self.stop_event = stop_event
        self.on_complete = on_complete
        self.progress = progress
        self.rng = random.Random(config.rng_seed)
        self.halt = threading.Event()
        self.queue = WorkQueue()
        self.results: queue.Queue = queue.Queue()
        self.states = {
            t.key: _State(PageBook(config.page_size, config.end_confirmations, t.row_key)) for t in targets
        }
        self.report = SyncReport(kinds={k.value: KindReport() for k in {t.kind for t in targets}})
        for t in targets:
            self.report.kinds[t.kind.value].boards_total += 1
        self.done = 0
        # IPs that delivered a page: a data:null through one of them is about the board, not the IP.
        self.working_via: set[str] = set()
        self.fatal: FatalSyncError | None = None
        self.thread_prefix = f"boardsync-worker-{id(self):x}"

    def run(self) -> SyncReport:
        started = self.clock.monotonic()
        stats = self.proxies.stats
        before = (stats.ips_used, stats.vendor_calls, stats.refusals, stats.ips_unusable)
        for target in self.targets:
            self.queue.put_back(0, Task(target, 1, 0))
        workers = [
            threading.Thread(
                target=self._worker,
                args=(random.Random(self.rng.random()),),
                name=f"{self.thread_prefix}-{i}",
                # Not daemons: a worker still in a DuckDB call (the quota ledger) when the interpreter exits
                # would be unwound by force and abort the process; after a halt each ends within its bounded waits.
            )
            for i in range(min(self.cfg.workers, max(1, len(self.targets))))
        ]
        for w in workers:
            w.start()
        next_progress = started + self.cfg.progress_interval
        try:
            while self.done < len(self.targets) and self.fatal is None:
                if self.stop_event is not None and self.stop_event.is_set():
                    self.fatal = Stopped("stop requested")
                    break
                # Tasks waiting, plus one in flight per worker: more live IPs than this would idle.
                self.proxies.backlog = len(self.queue) + len(workers)
                with contextlib.suppress(queue.Empty):
                    self._handle(self.results.get(timeout=self.cfg.poll_interval))
                if self.progress is not None and self.clock.monotonic() >= next_progress:
                    next_progress = self.clock.monotonic() + self.cfg.progress_interval
                    self.progress(self._progress(started))
        finally:
            self.halt.set()
            self.queue.close()
            deadline = self.clock.monotonic() + self.cfg.stop_grace
            for w in workers:
                w.join(max(0.0, deadline - self.clock.monotonic()))
        # Pages that arrived while stopping can still complete a board: keep them. An error reported now is the
        # halt's own echo (a worker's Stopped) or came after the run ended: it must not turn a finished run into a stop.
        while True:
            try:
                msg = self.results.get_nowait()
            except queue.Empty:
                break
            if isinstance(msg, _Done):
                self._handle(msg)
        self.report.duration_s = self.clock.monotonic() - started
        self.report.ips_used = stats.ips_used - before[0]
        self.report.vendor_calls = stats.vendor_calls - before[1]
        self.report.vendor_refusals = stats.refusals - before[2]
        self.report.ips_unusable = stats.ips_unusable - before[3]
        self.report.unfinished = [t.as_board() for t in self.targets if not self.states[t.key].finished]
        if self.proxies.paced:
            self.report.ban_model = self.proxies.ban_summary()
        if self.fatal is not None:
            self.report.fatal = self.fatal
            self.report.stopped_reason = stop_message(
                self.fatal,
                self.report.boards_ok,
                len(self.report.failures),
                len(self.targets),
                self.proxies.redact,
                gone=len(self.report.gone),
            )
            log.warning(self.report.stopped_reason)
        return self.report

    # --- workers ------------------------------------------------------------------------------------------------

    def _worker(self, rng: random.Random) -> None:
        try:
            self._work(rng)
        except Exception as exc:  # never die silently: the manager would wait for results that never come
            message = self.proxies.redact(
                f"{threading.current_thread().name} crashed: {type(exc).__name__}: {exc}"
            )
            log.error(message)
            self.results.put(_Fatal(FatalSyncError(message)))

    def _work(self, rng: random.Random) -> None:
        cfg = self.cfg
        # Adaptive pacing: acquire() waits for the lease's next slot, so no delay of our own here.
        paced = self.proxies.paced
        if not paced and self.clock.sleep(rng.uniform(0, cfg.start_stagger), self.halt):
            return
        while True:
            item = self.queue.get(self.halt, cfg.poll_interval)
            if item is None:
                return
            retry, task = item
            if not paced and self.clock.sleep(rng.uniform(cfg.req_delay_min, cfg.req_delay_max), self.halt):
                return
            try:
                lease = self.proxies.acquire(self.halt)
            except FatalSyncError as exc:
                self.results.put(_Fatal(exc))
                return
            outcome = outcome_of(task.page, task.target.fetch(self.client, task.page, lease.proxies))
            if isinstance(outcome, FetchError):
                rule = ACTIONS[outcome.error_class]
                if rule.fatal_on_fixed_proxy and not self.proxies.rotating:
                    self.results.put(
                        _Fatal(VendorAuthError(f"{lease.label}: {outcome.message}; check user/password"))
                    )
                    return
                if rule.change_ip:
                    self.proxies.report_failure(lease, outcome.error_class is ErrorClass.PROXY_AUTH)
                else:
                    self.proxies.report_success(lease)  # it reached the server: the IP works
            else:
                self.proxies.report_success(lease)
            self.results.put(_Done(task, retry, outcome, lease.label))

    # --- the manager ----------------------------------------------------------------------------------------------

    def _handle(self, msg: _Done | _Fatal) -> None:
        if isinstance(msg, _Fatal):
            self.fatal = self.fatal or msg.error
            return
        task, target = msg.task, msg.task.target
        state = self.states[target.key]
        self.report.requests += 1
        self.report.kinds[target.kind.value].requests += 1
        if state.finished or task.generation != state.book.generation:
            return
        state.attempts += 1
        if isinstance(msg.outcome, FetchError):
            if msg.outcome.error_class is ErrorClass.DATA_NULL and isinstance(target, BoardTarget):
                state.null_via.append(msg.via)
                if self._gone(state, target):
                    return
            self._failed(state, task, msg.retry, msg.outcome)
            return
        self.working_via.add(msg.via)
        page = msg.outcome
        if task.page == 1 and page.total >= 0:
            state.exists = True
        verdict = state.book.record(task.page, None if page.total < 0 else page.total, page.rows)
        if verdict.restart is not None:
            self._failed(
                state, task, state.book.restarts, FetchError(ErrorClass.INCONSISTENT, verdict.restart)
            )
        elif verdict.rows is not None:
            self._complete(state, target, verdict.rows, verdict.note)
        elif verdict.fetch and not verdict.refetch:
            self.queue.put_front([(0, Task(target, p, task.generation)) for p in verdict.fetch])
        elif verdict.fetch:
            # Pages answered before are asked again: that is a retry, bounded like any other.
            retry = msg.retry + 1
            state.problem = FetchError(ErrorClass.EMPTY_PAGE, verdict.reason or "pages asked again")
            if retry > self.cfg.max_retry:
                error = FetchError(ErrorClass.EMPTY_PAGE, f"{state.problem.message} ({retry} times)")
                self._count(error)
                state.problem = None  # it is the error itself now, not context for another one
                self._give_up(state, target, error)
                return
            self.queue.put_front([(retry, Task(target, p, task.generation)) for p in verdict.fetch])

    def _count(self, error: FetchError) -> None:
        self.report.errors[error.error_class.value] = self.report.errors.get(error.error_class.value, 0) + 1

    def _failed(self, state: _State, task: Task, retry: int, error: FetchError) -> None:
        self._count(error)
        error = FetchError(error.error_class, self.proxies.redact(error.message))
        state.last_error = error
        log.debug("%s page %d: %s (retry %d)", task.target.key, task.page, error, retry)
        if not ACTIONS[error.error_class].retry or retry >= self.cfg.max_retry:
            self._give_up(state, task.target, error)
            return
        if error.error_class is ErrorClass.INCONSISTENT:
            state.book.restart()
            state.problem = None
            self.queue.put_back(state.book.restarts, Task(task.target, 1, state.book.generation))
            return
        self.queue.put_back(retry + 1, task)

    def _gone(self, state: _State, target: Target) -> bool:
        """Report the board gone once page 1 said data:null gone_confirmations times through IPs that work."""
        confirmed = [via for via in state.null_via if via in self.working_via]
        if state.exists or len(confirmed) < self.cfg.gone_confirmations:
            # A gone board passes the completeness check: a false verdict is a silent hole in the day. Eastmoney
            # answers data:null now and then for boards that exist (the hostile profile: 2 %), so one that answered
            # page 1 this run is never gone, and it takes gone_confirmations answers.
            return False
        state.finished = True
        self.done += 1
        ips = len(set(confirmed))
        reason = (
            f"board gone: page 1 answered data:null {len(confirmed)} times, through {ips} IP{'s' * (ips > 1)} "
            "that served other boards (deleted after the list?)"
        )
        self.report.gone.append(BoardFailure(target.as_board(), "gone", reason, state.attempts))
        log.warning("%s: %s", target.key, reason)
        return True

    def _give_up(self, state: _State, target: Target, error: FetchError) -> None:
        state.finished = True
        self.done += 1
        reason = error.message
        if error.error_class is ErrorClass.DATA_NULL:
            reason = (
                f"board may be gone: page 1 answered data:null {len(state.null_via)} of {state.attempts} times, "
                f"not yet {self.cfg.gone_confirmations} times through IPs that served other boards"
            )
        elif state.problem is not None:
            reason = f"{state.problem.message}; the last retry failed with {error}"
            error = state.problem
        failure = BoardFailure(target.as_board(), error.error_class.value, reason, state.attempts)
        self.report.failures.append(failure)
        log.warning("%s failed permanently: %s", target.key, reason)

    def _complete(self, state: _State, target: Target, rows: list, note: str | None) -> None:
        state.finished = True
        self.done += 1
        kind = self.report.kinds[target.kind.value]
        kind.boards_ok += 1
        kind.members += len(rows)
        remarks = [note] if note else []
        unexpected = sorted(
            f"{m.stock_code} ({m.market})"
            for m in rows
            if isinstance(target, BoardTarget) and not expected_code(m)
        )
        if unexpected:
            remarks.append(f"unexpected stock codes kept: {', '.join(unexpected[:20])}")
        for remark in remarks:
            self.report.notes.append(f"{target.key}: {remark}")
            log.info("%s: %s", target.key, remark)
        self.on_complete(target, state.book, rows, note)

    def _progress(self, started: float) -> Progress:
        elapsed = self.clock.monotonic() - started
        total = len(self.targets)
        eta = elapsed / self.done * (total - self.done) if self.done else None
        return Progress(
            boards_done=self.done,
            boards_total=total,
            members=self.report.members,
            ips_used=self.proxies.stats.ips_used,
            requests=self.report.requests,
            errors=dict(self.report.errors),
            elapsed_s=elapsed,
            eta_s=eta,
        )


def sync_members(
    boards: list[Board],
    client: EastmoneyClient,
    proxies: ProxyManager,
    config: SyncConfig,
    *,
    checkpoint: Callable[[BoardResult], None],
    progress: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    skip: Iterable[str] = frozenset(),
    clock: Clock | None = None,
) -> SyncReport:
    """Fetch every board's members; checkpoint each validated board from this thread. Never raises for expected
    failures: a fatal one stops the workers and comes back as report.stopped_reason / report.fatal."""
    config.validate()
    skip = set(skip)
    unique = {b.code: b for b in boards if b.code not in skip}
    targets = [BoardTarget(b) for b in unique.values()]

    def on_complete(target: Target, book: PageBook, rows: list, note: str | None) -> None:
        checkpoint(BoardResult(target.board, book.total or 0, rows, book.expected, True, note))

    run = _Run(
        targets,
        client=client,
        proxies=proxies,
        config=config,
        clock=clock or proxies.clock,
        stop_event=stop_event,
        on_complete=on_complete,
        progress=progress,
    )
    report = run.run()
    report.skipped = len({b.code for b in boards if b.code in skip})
    return report


def fetch_board_list(
    client: EastmoneyClient,
    proxies: ProxyManager,
    config: SyncConfig,
    *,
    kinds: Iterable[BoardKind] = (BoardKind.INDUSTRY, BoardKind.CONCEPT),
    stop_event: threading.Event | None = None,
    clock: Clock | None = None,
) -> BoardListResult:
    """Today's board lists, every page, validated like a board: distinct codes == the reported total."""
    config.validate()
    kinds = list(dict.fromkeys(kinds))  # once each, in the order asked
    targets = [ListTarget(kind) for kind in kinds]
    found: dict[BoardKind, list[Board]] = {}
    totals: dict[BoardKind, int] = {}

    def on_complete(target: Target, book: PageBook, rows: list, note: str | None) -> None:
        found[target.kind] = rows
        totals[target.kind] = book.total or 0

    run = _Run(
        targets,
        client=client,
        proxies=proxies,
        config=config,
        clock=clock or proxies.clock,
        stop_event=stop_event,
        on_complete=on_complete,
    )
    report = run.run()
    for kind, rows in found.items():
        report.kinds[kind.value].boards_ok = len(rows)
        report.kinds[kind.value].boards_total = totals[kind]
    complete = len(found) == len(targets)
    error = (
        report.stopped_reason or "; ".join(f"{f.board.code}: {f.last_error}" for f in report.failures) or None
    )
    boards = [b for kind in kinds for b in found.get(kind, [])]
    return BoardListResult(boards, totals, complete, report, None if complete else error)
