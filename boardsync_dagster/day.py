"""The day service: what one day's sync means, in plain Python (no Dagster), so the CLI, a test or an asset run it
alike. It decides what to fetch (resume, force, subset), runs the engine, records outcomes in the store, and
returns what the report needs; the assets only translate its results into Dagster outputs, metadata and checks.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from boardsync_dagster.engine.clock import SHANGHAI, Clock, SystemClock, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.errors import Stopped
from boardsync_dagster.engine.fetcher import BoardListResult, Progress, fetch_board_list, sync_members
from boardsync_dagster.engine.ledger import account_id
from boardsync_dagster.engine.proxy import ProxyManager
from boardsync_dagster.engine.report import errors_text
from boardsync_dagster.engine.types import Board, BoardFailure, BoardKind, SyncReport
from boardsync_dagster.storage import Store

LIST_SCHEMA = {
    "snapshot_date": pl.Date,
    "board_code": pl.String,
    "board_name": pl.String,
    "board_kind": pl.String,
    "kind_total": pl.Int32,
}
# Days of our own history the report compares a day with (the median of the last this many complete days).
HISTORY_DAYS = 7


class DayFailed(Exception):
    """The day cannot be written as asked; `details` says what is missing (JSON-able). Nothing fetched is lost."""

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.details = details or {}


def check_today(partition_key: str, today: str | None = None, clock: Clock | None = None) -> dt.date:
    """The partition's date, refused (ValueError) unless it is today in Asia/Shanghai: Eastmoney keeps no
    history. today (the `today` setting) is for simulator replays."""
    day = dt.date.fromisoformat(partition_key)
    now = (
        dt.date.fromisoformat(today) if today else (clock or SystemClock()).now().astimezone(SHANGHAI).date()
    )
    if day != now:
        raise ValueError(
            f"Partition {day} is not today ({now}, Asia/Shanghai). Eastmoney keeps no history, so syncing "
            f"now would store today's membership under {day}"
        )
    return day


@dataclass
class ListOutcome:
    frame: pl.DataFrame
    result: BoardListResult


@dataclass
class DayOutcome:
    """What the members step achieved, for the output, its metadata and its checks."""

    report: SyncReport  # this run's members fetch; ips/vendor figures are the run's (list included)
    members: pl.DataFrame  # every checkpointed member of the day's listed boards
    status: pl.DataFrame  # raw.board_sync_status of the day
    previous: tuple[dt.date, int, int] | None  # the last complete day before: (date, boards, members)
    quota_left: int | None
    history: str  # markdown: the day beside the previous complete day and the median of recent ones
    ban_model: dict | None  # what adaptive pacing learned: estimate, its history over the run, the bans
    figures: dict[str, Any] = field(default_factory=dict)


class DayService:
    def __init__(
        self,
        day: dt.date,
        config: SyncConfig,
        *,
        open_store: Callable[[], Store],
        client: EastmoneyClient,
        proxies: ProxyManager,
        clock: Clock | None = None,
    ) -> None:
        self.day, self.config = day, config
        self.open_store, self.client, self.proxies = open_store, client, proxies
        self.clock = clock or proxies.clock

    @classmethod
    def for_partition(cls, partition_key: str, config: SyncConfig, **parts: Any) -> DayService:
        return cls(check_today(partition_key, config.today, parts.get("clock")), config, **parts)

    # --- the board list ----------------------------------------------------------------------------------------

    def board_list(self, stop: threading.Event | None = None) -> ListOutcome:
        """Both lists, every page; DayFailed (nothing written) unless each kind's count equals the API's total."""
        result = fetch_board_list(self.client, self.proxies, self.config, stop_event=stop)
        shortfall = list_shortfall(result)
        if not result.complete or shortfall:
            # A partial list would silently drop boards from the day: write nothing, keep yesterday's lists.
            raise DayFailed(
                f"The board list of {self.day} is incomplete "
                f"({result.error or 'counts differ from the API total'}); nothing was written. Run the partition again.",
                {"shortfall": shortfall},
            )
        return ListOutcome(list_frame(self.day, result.boards, result.reported_totals), result)

    # --- the members ---------------------------------------------------------------------------------------------

    def members(
        self,
        listed: pl.DataFrame,
        stop: threading.Event | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> DayOutcome:
        """Fetch what the day still lacks (every board with force), checkpointing each board as it completes.

        A fatal stop raises DayFailed after recording why each unfinished board is missing."""
        boards = boards_of(listed)
        todo = select_boards(boards, list(self.config.boards))
        with self.open_store() as store:
            skip = set() if self.config.force else store.completed_boards(self.day)
            report = sync_members(
                todo,
                self.client,
                self.proxies,
                self.config,
                checkpoint=lambda result: store.checkpoint_board(self.day, result),
                progress=progress,
                stop_event=stop,
                skip=skip,
            )
            figures = self.figures(report)
            if not isinstance(report.fatal, Stopped):
                # The boards a stop left behind get a status row with the reason, so the day says what is
                # missing. Not on a requested stop (a run terminated): the process is going, and nothing is lost.
                left = [BoardFailure(b, "stopped", report.stopped_reason or "", 0) for b in report.unfinished]
                store.record_failures(self.day, [*report.failures, *(left if report.stopped_reason else [])])
                # Boards deleted after the list: accounted for, not missing.
                store.record_failures(self.day, report.gone, gone=True)
                store.record_run(self.day, figures)
            self.keep_what_was_learned(store, report)
            history = history_table(
                store.day_figures(self.day), store.recent_complete_figures(self.day, HISTORY_DAYS)
            )
            if report.stopped_reason:
                # The retry sensor reads the IPs left from a stopped run's failure (it materialises nothing).
                left = self.proxies.quota_left()
                details = {
                    "missing": [b.code for b in report.unfinished],
                    **figures,
                    "ban_model": report.ban_model,
                }
                raise DayFailed(
                    stopped_description(report),
                    {**details, **({"quota_left": left} if left is not None else {})},
                )
            return DayOutcome(
                report=report,
                members=store.day_members(self.day, [b.code for b in boards]),
                status=store.day_status(self.day),
                previous=store.previous_complete_day(self.day),
                quota_left=self.proxies.quota_left(),
                history=history,
                ban_model=report.ban_model,
                figures=figures,
            )

    def keep_what_was_learned(self, store: Store, report: SyncReport) -> None:
        """The ban model's estimate, filed under the vendor account's fingerprint: the next run starts from it."""
        api = self.proxies.settings.proxy_api
        if report.ban_model and api:
            store.save_ban_estimate(
                account_id(api), vendor_day(self.clock.now()), report.ban_model["estimate"]
            )

    def figures(self, report: SyncReport) -> dict[str, Any]:
        """The run's numbers: the members fetch's, with IPs and vendor calls of the whole run (both steps share
        one ProxyManager, which alone counts IPs)."""
        stats = self.proxies.stats
        return {
            "boards_ok": report.boards_ok,
            "boards_failed": len(report.failures),
            "boards_gone": len(report.gone),
            "boards_skipped": report.skipped,
            "members_fetched": report.members,
            "ips_used": stats.ips_used,
            "ips_unusable": stats.ips_unusable,
            "vendor_calls": stats.vendor_calls,
            "vendor_refusals": stats.refusals,
            "requests": report.requests,
            "duration_s": round(report.duration_s / self.config.time_scale, 1),
            **{f"errors_{name}": n for name, n in sorted(report.errors.items())},
            **learned_figures(report.ban_model),
            **{
                f"{figure}_{kind}": getattr(numbers, figure)
                for kind, numbers in report.kinds.items()
                for figure in ("boards_ok", "boards_total", "members")
            },
        }


# --- pure helpers ---------------------------------------------------------------------------------------------


def learned_figures(ban_model: dict | None) -> dict[str, float]:
    """What adaptive pacing learned, as numbers Dagster plots across runs (none with the seed preset)."""
    if not ban_model:
        return {}
    estimate = ban_model["estimate"]
    return {
        "learned_requests_per_s_per_ip": round(1 / estimate["spacing"], 3),
        "learned_cap_per_ip": estimate["cap"] or 0,
        "bans_seen": len([b for b in ban_model["bans"] if b["verdict"] != "doubtful"]),
    }


def list_frame(day: dt.date, boards: list[Board], totals: dict[BoardKind, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "snapshot_date": [day] * len(boards),
            "board_code": [b.code for b in boards],
            "board_name": [b.name for b in boards],
            "board_kind": [b.kind.value for b in boards],
            "kind_total": [totals.get(b.kind, 0) for b in boards],
        },
        schema=LIST_SCHEMA,
    )


def list_shortfall(result: BoardListResult) -> dict[str, dict[str, int]]:
    """Per kind, listed vs reported, for the kinds that fall short (or are missing altogether)."""
    counts = dict.fromkeys(BoardKind, 0)
    for board in result.boards:
        counts[board.kind] += 1
    return {
        kind.value: {"listed": counts[kind], "reported": result.reported_totals.get(kind, 0)}
        for kind in BoardKind
        if counts[kind] == 0 or counts[kind] != result.reported_totals.get(kind, -1)
    }


def boards_of(frame: pl.DataFrame) -> list[Board]:
    return [
        Board(code=r["board_code"], name=r["board_name"], kind=BoardKind(r["board_kind"]))
        for r in frame.iter_rows(named=True)
    ]


def select_boards(listed: list[Board], wanted: list[str]) -> list[Board]:
    if not wanted:
        return listed
    by_code = {b.code: b for b in listed}
    unknown = sorted(set(wanted) - set(by_code))
    if unknown:
        raise DayFailed(
            f"Boards not in the day's list: {', '.join(unknown)}. Check the codes (BKxxxx) against board_list "
            "for this partition."
        )
    return [by_code[code] for code in dict.fromkeys(wanted)]


def stopped_description(report: SyncReport, shown: int = 30) -> str:
    """The stop's reason, then the boards it left unfetched (the first `shown` of them by code)."""
    codes = sorted(b.code for b in report.unfinished)
    if not codes:
        return report.stopped_reason or ""
    more = f" and {len(codes) - shown} more" if len(codes) > shown else ""
    return f"{report.stopped_reason} Missing boards ({len(codes)}): {', '.join(codes[:shown])}{more}."


# The figures the daily report compares, in its order, with how each is shown.
COMPARED = (
    ("boards complete", "boards_complete", "{:,.0f}"),
    ("members stored", "members", "{:,.0f}"),
    ("IPs", "ips_used", "{:,.0f}"),
    ("requests", "requests", "{:,.0f}"),
    ("duration (min)", "minutes", "{:.1f}"),
    ("errors", "errors", "{:,.0f}"),
)


def history_table(today: dict[str, Any], recent: list[dict[str, Any]]) -> str:
    """Markdown: the day's figures beside the previous complete day and the median of the recent complete days.

    today and each of recent: a day's figures (Store.day_figures), recent newest first. Errors by class follow
    the table, today's beside the previous day's."""
    previous = recent[0] if recent else None
    head = ["metric", f"today ({today['date']})"]
    if previous:
        head += [f"previous complete day ({previous['date']})", f"median of last {len(recent)} complete days"]
    rows = [head]
    for label, key, fmt in COMPARED:
        row = [label, fmt.format(today[key])]
        if previous:
            row += [fmt.format(previous[key]), fmt.format(statistics.median(d[key] for d in recent))]
        rows.append(row)
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(head))
    lines.append(f"\nerrors by class today: {errors_text(today['errors_by_class'])}")
    if previous:
        lines.append(f"errors by class on {previous['date']}: {errors_text(previous['errors_by_class'])}")
    else:
        lines.append("no earlier complete day to compare with")
    return "\n".join(lines)
