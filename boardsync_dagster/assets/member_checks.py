"""The checks on a day's members, as pure functions of what was written (tested without Dagster runs)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from boardsync_dagster.engine.parse import MARKET_CODE

MEMBERS = dg.AssetKey(["raw", "board_members"])
COMPLETE = "all_boards_complete"
UNIQUE = "board_stock_unique"
VALID = "codes_and_markets_valid"
STABLE = "totals_stable"

# The parser's rule, anchored for polars: Shanghai 6x, Shenzhen 00x/30x, Beijing 4x/8x/92x.
MARKET_PATTERNS = {market: f"^{rule.pattern}$" for market, rule in MARKET_CODE.items()}

CHECK_SPECS = [
    dg.AssetCheckSpec(
        COMPLETE,
        asset=MEMBERS,
        blocking=True,
        description="Every board of the day's list is complete: members = the API's total.",
    ),
    dg.AssetCheckSpec(
        UNIQUE,
        asset=MEMBERS,
        blocking=True,
        description="(board_code, stock_code) unique in the day.",
    ),
    # WARN, not blocking: an unexpected code (a B share, a new prefix) is a real member, kept with its market.
    dg.AssetCheckSpec(
        VALID,
        asset=MEMBERS,
        description="Stock codes have a prefix known for their market; unexpected ones are kept and listed here.",
    ),
    dg.AssetCheckSpec(
        STABLE,
        asset=MEMBERS,
        description="The day's totals stay within a share of the previous complete day's.",
    ),
]


def completeness(listed: pl.DataFrame, status: pl.DataFrame) -> dg.AssetCheckResult:
    """listed: the day's board list; status: raw.board_sync_status rows of the day."""
    joined = listed.select("board_code", "board_name", "board_kind").join(
        status.select("board_code", "complete", "gone", "reported_total", "members", "last_error"),
        on="board_code",
        how="left",
    )
    complete = pl.col("complete").fill_null(False)
    # A board deleted between the list and its members is accounted for (listed here), not missing.
    gone = ~complete & pl.col("gone").fill_null(False)
    missing = joined.filter(~complete & ~gone)
    departed = joined.filter(gone)
    return dg.AssetCheckResult(
        check_name=COMPLETE,
        passed=missing.is_empty(),
        metadata={
            "boards_listed": listed.height,
            "boards_complete": joined.filter(complete).height,
            "boards_gone": departed.height,
            "boards_missing": missing.height,
            "missing": dg.MetadataValue.json(_listed(missing, "not attempted")),
            "gone": dg.MetadataValue.json(_listed(departed, "")),
        },
    )


def _listed(boards: pl.DataFrame, no_error: str) -> list[dict]:
    return [
        {
            "board_code": r["board_code"],
            "board_name": r["board_name"],
            "kind": r["board_kind"],
            "last_error": r["last_error"] or no_error,
        }
        for r in boards.head(200).iter_rows(named=True)
    ]


def uniqueness(members: pl.DataFrame) -> dg.AssetCheckResult:
    dupes = members.group_by("board_code", "stock_code").len().filter(pl.col("len") > 1)
    return dg.AssetCheckResult(
        check_name=UNIQUE,
        passed=dupes.is_empty(),
        metadata={
            "duplicate_pairs": dupes.height,
            "examples": dg.MetadataValue.json(dupes.head(20).to_dicts()),
        },
    )


def invalid_rows(members: pl.DataFrame) -> pl.DataFrame:
    ok = pl.lit(False)
    for market, pattern in MARKET_PATTERNS.items():
        ok = ok | ((pl.col("market") == market) & pl.col("stock_code").str.contains(pattern))
    return members.filter(~ok.fill_null(False))


def validity(members: pl.DataFrame) -> dg.AssetCheckResult:
    unexpected = invalid_rows(members)
    codes = unexpected.select("stock_code", "market").unique().sort("stock_code")
    return dg.AssetCheckResult(
        check_name=VALID,
        passed=unexpected.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unexpected_rows": unexpected.height,
            "unexpected_codes": dg.MetadataValue.json(codes.head(50).to_dicts()),
            "examples": dg.MetadataValue.json(unexpected.head(20).to_dicts()),
        },
    )


def stability(
    boards: int, members: int, previous: tuple[object, int, int] | None, max_change: float
) -> dg.AssetCheckResult:
    if previous is None:
        return dg.AssetCheckResult(
            check_name=STABLE,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"note": "no previous complete day to compare with"},
        )
    prev_day, prev_boards, prev_members = previous
    changes = {
        "boards": abs(boards - prev_boards) / max(prev_boards, 1),
        "members": abs(members - prev_members) / max(prev_members, 1),
    }
    return dg.AssetCheckResult(
        check_name=STABLE,
        passed=all(v <= max_change for v in changes.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "previous_day": str(prev_day),
            "boards_change": round(changes["boards"], 4),
            "members_change": round(changes["members"], 4),
            "max_change": max_change,
        },
    )
