"""raw/board_members: every member of every board of the day, fetched by the day service, checkpointed per board."""

import logging

import dagster as dg
import polars as pl

from boardsync_dagster.assets import member_checks
from boardsync_dagster.assets.board_list import json_metadata
from boardsync_dagster.day import DayFailed, DayOutcome
from boardsync_dagster.engine.fetcher import Progress
from boardsync_dagster.partitions import FETCHED_ASSET
from boardsync_dagster.resources import SyncResource
from boardsync_dagster.runner import run_interruptibly

# The CLI draws its progress bar from this logger's records (attribute `progress`).
progress_logger = logging.getLogger("boardsync.progress")


@dg.asset(
    **FETCHED_ASSET,
    name="board_members",
    ins={"board_list": dg.AssetIn(key=["raw", "board_list"])},
    check_specs=member_checks.CHECK_SPECS,
    description="Members of every board of the day, verified against the totals the API reports.",
)
def board_members(context: dg.AssetExecutionContext, board_list: pl.DataFrame, sync: SyncResource):
    day = sync.day(context.partition_key)
    try:
        outcome: DayOutcome = run_interruptibly(
            lambda stop: day.members(board_list, stop, ProgressLog(context))
        )
    except DayFailed as exc:
        raise dg.Failure(description=str(exc), metadata=json_metadata(exc.details)) from None
    metadata = {"result": dg.MetadataValue.md(outcome.history), **outcome.figures}
    if outcome.ban_model:  # the run's estimate over time, and the bans it learned from
        metadata["ban_model"] = dg.MetadataValue.json(outcome.ban_model)
    if outcome.quota_left is not None:
        metadata["quota_left"] = outcome.quota_left
    context.log.info(f"{outcome.report.boards_ok} boards fetched in {outcome.report.duration_s:.0f}s")
    yield dg.Output(outcome.members, metadata={**metadata, "rows": outcome.members.height})
    yield member_checks.completeness(board_list, outcome.status)
    yield member_checks.uniqueness(outcome.members)
    yield member_checks.validity(outcome.members)
    yield member_checks.stability(
        board_list.height, outcome.members.height, outcome.previous, max_change=day.config.max_total_change
    )


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
