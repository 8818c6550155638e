"""board_members: every member of every board of the day, fetched by the engine, checkpointed per board."""

import logging

import dagster as dg
import polars as pl
from pydantic import Field

from boardsync_dagster.assets import member_checks
from boardsync_dagster.engine.banmodel import account_of
from boardsync_dagster.engine.clock import SystemClock, vendor_day
from boardsync_dagster.engine.fetcher import Progress, sync_members
from boardsync_dagster.engine.report import render_table
from boardsync_dagster.engine.types import Board, BoardFailure, BoardKind, SyncReport
from boardsync_dagster.partitions import FETCHED_ASSET
from boardsync_dagster.resources import (
    EastmoneyResource,
    ProxyResource,
    StorageResource,
    sync_config,
)
from boardsync_dagster.runner import run_interruptibly

# The CLI draws its progress bar from this logger's records (attribute `progress`).
progress_logger = logging.getLogger("boardsync.progress")


class BoardMembersConfig(dg.Config):
    force: bool = Field(
        default=False, description="Fetch every board again, even those already checkpointed."
    )
    boards: list[str] = Field(default=[], description="Only these board codes (default: the whole list).")
    max_total_change: float = Field(
        default=0.2,
        ge=0,
        description="WARN when boards or members move more than this share from the last day.",
    )


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
        raise dg.Failure(
            description=f"Boards not in the day's list: {', '.join(unknown)}. Check the codes (BKxxxx) against "
            "board_list for this partition."
        )
    return [by_code[code] for code in dict.fromkeys(wanted)]


def report_metadata(report: SyncReport, table: str, quota_left: int | None) -> dict[str, object]:
    metadata: dict[str, object] = {
        "result": dg.MetadataValue.md(table),
        "boards_ok": report.boards_ok,
        "boards_failed": len(report.failures),
        "boards_skipped": report.skipped,
        "members_fetched": report.members,
        "ips_used": report.ips_used,
        "requests": report.requests,
        "duration_s": round(report.duration_s, 1),
        **{f"errors_{name}": count for name, count in sorted(report.errors.items())},
    }
    if quota_left is not None:
        metadata["quota_left"] = quota_left
    if report.ban_model:
        # Numbers Dagster plots across runs, and the run's own estimate over time.
        estimate = report.ban_model["estimate"]
        metadata["learned_requests_per_s_per_ip"] = round(1 / estimate["spacing"], 3)
        metadata["learned_cap_per_ip"] = estimate["cap"] or 0
        metadata["bans_seen"] = len([b for b in report.ban_model["bans"] if b["verdict"] != "doubtful"])
        metadata["ban_model"] = dg.MetadataValue.json(report.ban_model)
    return metadata


class ProgressLog:
    """Progress to the run log every few seconds (context.log costs ~7 ms a call: never per page)."""

    def __init__(self, context: dg.AssetExecutionContext):
        self.context = context

    def __call__(self, p: Progress) -> None:
        eta = f"{p.eta_s:.0f}s" if p.eta_s is not None else "?"
        errors = sum(p.errors.values())
        message = (
            f"progress: boards {p.boards_done}/{p.boards_total}, members {p.members}, IPs {p.ips_used}, "
            f"requests {p.requests}, errors {errors}, elapsed {p.elapsed_s:.0f}s, ETA {eta}"
        )
        self.context.log.info(message)
        progress_logger.info(message, extra={"progress": p})


@dg.asset(
    **FETCHED_ASSET,
    check_specs=member_checks.CHECK_SPECS,
    description="Members of every board of the day, verified against the totals the API reports.",
)
def board_members(
    context: dg.AssetExecutionContext,
    config: BoardMembersConfig,
    board_list: pl.DataFrame,
    eastmoney: EastmoneyResource,
    proxy: ProxyResource,
    storage: StorageResource,
):
    day = storage.snapshot_day(context.partition_key)
    engine_config = sync_config(eastmoney, proxy)
    listed = boards_of(board_list)
    todo = select_boards(listed, config.boards)
    manager = proxy.manager(engine_config, storage)
    with storage.open_store() as store:
        skip = set() if config.force else store.completed_boards(day)
        context.log.info(
            f"{len(todo)} boards selected, {len(skip & {b.code for b in todo})} already checkpointed"
        )
        report: SyncReport = run_interruptibly(
            lambda stop: sync_members(
                todo,
                eastmoney.client(),
                manager,
                engine_config,
                checkpoint=lambda result: store.checkpoint_board(day, result),
                progress=ProgressLog(context),
                stop_event=stop,
                skip=skip,
            )
        )
        # Count the run's IPs and vendor calls, the board list's included: both steps share this run's
        # ProxyManager.
        report.ips_used = manager.stats.ips_used
        report.vendor_calls = manager.stats.vendor_calls
        report.vendor_refusals = manager.stats.refusals
        if report.ban_model and manager.settings.proxy_api:  # the next run starts from what was learned
            account = account_of(manager.settings.proxy_api)
            store.save_ban_estimate(account, vendor_day(SystemClock().now()), report.ban_model["estimate"])
        for failure in report.failures:
            store.record_failure(day, failure)
        if report.stopped_reason:
            # The boards the stop left behind get a status row with the reason, so the day says what is missing.
            for board in report.unfinished:
                store.record_failure(day, BoardFailure(board, "stopped", report.stopped_reason, 0))
        quota_left = quota_remaining(proxy, storage)
        table = render_table(
            report,
            time_scale=eastmoney.time_scale,
            max_ips=proxy.max_ips if proxy.settings().proxy_api else None,
        )
        metadata = report_metadata(report, table, quota_left)
        if report.stopped_reason:
            missing = [b.code for b in report.unfinished]
            metadata["missing"] = dg.MetadataValue.json(missing)
            raise dg.Failure(description=stopped_description(report), metadata=metadata)
        members = store.day_members(day, [b.code for b in listed])
        status = store.day_status(day)
        previous = store.previous_complete_day(day)
    context.log.info(f"{report.boards_ok} boards fetched in {report.duration_s:.0f}s")
    yield dg.Output(members, metadata={**metadata, "rows": members.height})
    yield member_checks.completeness(board_list, status)
    yield member_checks.uniqueness(members)
    yield member_checks.validity(members)
    yield member_checks.stability(
        board_list.height, members.height, previous, max_change=config.max_total_change
    )


def stopped_description(report: SyncReport, shown: int = 30) -> str:
    """The stop's reason, then the boards it left unfetched (the first `shown` of them by code)."""
    codes = sorted(b.code for b in report.unfinished)
    if not codes:
        return report.stopped_reason or ""
    more = f" and {len(codes) - shown} more" if len(codes) > shown else ""
    return f"{report.stopped_reason} Missing boards ({len(codes)}): {', '.join(codes[:shown])}{more}."


def quota_remaining(proxy: ProxyResource, storage: StorageResource) -> int | None:
    """IPs left today on a vendor account; None in direct or fixed-proxy mode."""
    if not proxy.settings().proxy_api:
        return None
    used = storage.ledger().used(vendor_day(SystemClock().now()))
    return max(proxy.max_ips - used, 0)
