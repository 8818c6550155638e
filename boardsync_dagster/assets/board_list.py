"""board_list: the day's industry and concept boards, with the totals the API reported."""

import datetime as dt

import dagster as dg
import polars as pl

from boardsync_dagster.engine.fetcher import BoardListResult, fetch_board_list
from boardsync_dagster.engine.types import Board, BoardKind
from boardsync_dagster.partitions import FETCHED_ASSET
from boardsync_dagster.resources import EastmoneyResource, ProxyResource, StorageResource, sync_config
from boardsync_dagster.runner import run_interruptibly

LIST_COMPLETE = "board_list_complete"

LIST_SCHEMA = {
    "snapshot_date": pl.Date,
    "board_code": pl.String,
    "board_name": pl.String,
    "board_kind": pl.String,
    "kind_total": pl.Int32,
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
    counts = {kind: 0 for kind in BoardKind}
    for board in result.boards:
        counts[board.kind] += 1
    return {
        kind.value: {"listed": counts[kind], "reported": result.reported_totals.get(kind, 0)}
        for kind in BoardKind
        if counts[kind] == 0 or counts[kind] != result.reported_totals.get(kind, -1)
    }


@dg.asset(
    **FETCHED_ASSET,
    description="Every Eastmoney industry (m:90 t:2) and concept (m:90 t:3) board of the day.",
    check_specs=[
        dg.AssetCheckSpec(
            LIST_COMPLETE,
            asset="board_list",
            blocking=True,
            description="Both kinds listed, every page: counts equal the API's totals.",
        )
    ],
)
def board_list(
    context: dg.AssetExecutionContext,
    eastmoney: EastmoneyResource,
    proxy: ProxyResource,
    storage: StorageResource,
):
    day = storage.snapshot_day(context.partition_key)
    config = sync_config(eastmoney, proxy)
    manager = proxy.manager(config, storage)
    result: BoardListResult = run_interruptibly(
        lambda stop: fetch_board_list(eastmoney.client(), manager, config, stop_event=stop)
    )
    shortfall = list_shortfall(result)
    if not result.complete or shortfall:
        # A partial list would silently drop boards from the day: write nothing, keep yesterday's lists.
        raise dg.Failure(
            description=(
                f"The board list of {day} is incomplete ({result.error or 'counts differ from the API total'}); "
                "nothing was written. Run the partition again."
            ),
            metadata={"shortfall": dg.MetadataValue.json(shortfall)},
        )
    frame = list_frame(day, result.boards, result.reported_totals)
    yield dg.Output(
        frame,
        metadata={
            "boards": len(result.boards),
            **{f"boards_{k.value}": result.reported_totals.get(k, 0) for k in BoardKind},
            "requests": result.report.requests,
            "ips_used": result.report.ips_used,
        },
    )
    yield list_check(frame)


def list_check(frame: pl.DataFrame) -> dg.AssetCheckResult:
    """Verifies what is written: both kinds present, codes unique, each kind's count = the API's total."""
    counts = frame.group_by("board_kind").agg(
        pl.len().alias("listed"), pl.col("kind_total").first().alias("reported")
    )
    by_kind = {row["board_kind"]: row for row in counts.iter_rows(named=True)}
    problems = {
        kind.value: by_kind.get(kind.value, {"listed": 0, "reported": None})
        for kind in BoardKind
        if kind.value not in by_kind or by_kind[kind.value]["listed"] != by_kind[kind.value]["reported"]
    }
    duplicates = frame.height - frame["board_code"].n_unique()
    return dg.AssetCheckResult(
        check_name=LIST_COMPLETE,
        passed=not problems and duplicates == 0,
        metadata={"problems": dg.MetadataValue.json(problems), "duplicate_codes": duplicates},
    )
