"""raw/board_list: the day's industry and concept boards, with the totals the API reported."""

import dagster as dg
import polars as pl

from boardsync_dagster.day import DayFailed
from boardsync_dagster.engine.types import BoardKind
from boardsync_dagster.partitions import FETCHED_ASSET
from boardsync_dagster.resources import SyncResource
from boardsync_dagster.runner import run_interruptibly

LIST_COMPLETE = "board_list_complete"


@dg.asset(
    **FETCHED_ASSET,
    name="board_list",
    description="Every Eastmoney industry (m:90 t:2) and concept (m:90 t:3) board of the day.",
    check_specs=[
        dg.AssetCheckSpec(
            LIST_COMPLETE,
            asset=["raw", "board_list"],
            blocking=True,
            description="Both kinds listed, every page: counts equal the API's totals.",
        )
    ],
)
def board_list(context: dg.AssetExecutionContext, sync: SyncResource):
    day = sync.day(context.partition_key)
    try:
        listed = run_interruptibly(day.board_list)
    except DayFailed as exc:
        raise dg.Failure(description=str(exc), metadata=json_metadata(exc.details)) from None
    totals = listed.result.reported_totals
    yield dg.Output(
        listed.frame,
        metadata={
            "boards": listed.frame.height,
            **{f"boards_{kind.value}": totals.get(kind, 0) for kind in BoardKind},
            "requests": listed.result.report.requests,
            "ips_used": listed.result.report.ips_used,
        },
    )
    yield list_check(listed.frame)


def json_metadata(details: dict) -> dict:
    """Lists and mappings as JSON metadata, numbers as they are (plotted in the UI)."""
    return {
        k: v if isinstance(v, int | float) else dg.MetadataValue.json(v)
        for k, v in details.items()
        if v is not None
    }


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
