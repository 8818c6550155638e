"""Parse and validate one Eastmoney clist page. Pure functions: never raise, never let an invalid row through."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from boardsync_dagster.engine.errors import ErrorClass, FetchError
from boardsync_dagster.engine.types import Board, BoardKind, Member

STOCK_CODE = re.compile(r"[0-9]{6}")
BOARD_CODE = re.compile(r"BK[0-9]{4}")
# Beijing Stock Exchange codes, which Eastmoney files under market 0 with Shenzhen.
BEIJING_PREFIXES = ("43", "83", "87", "88", "92")
# The prefixes we know in each market (the rule of the codes_and_markets_valid WARN check). A code outside them
# (a B share 200xxx/900xxx, a prefix new to us) is still a stock of the market f13 names: kept, and flagged, since
# failing the whole board for one row loses hundreds of good ones.
MARKET_CODE = {
    "SH": re.compile(r"6[0-9]{5}"),
    "SZ": re.compile(r"(00|30)[0-9]{4}"),
    "BJ": re.compile(r"([48][0-9]{5}|92[0-9]{4})"),
}
MISSING = "-"


@dataclass
class Page:
    """One parsed page: rows are valid (or error is set and rows is empty). An empty diff gives rows == []."""

    total: int = 0
    rows: list[Any] = field(default_factory=list)
    error: FetchError | None = None


def parse_members(body: bytes | str, max_rows: int) -> Page:
    return _parse(body, max_rows, _member_row)


def parse_boards(body: bytes | str, max_rows: int, kind: BoardKind) -> Page:
    return _parse(body, max_rows, lambda row: _board_row(row, kind))


def market_of(stock_code: str, f13: int) -> str | None:
    if f13 == 1:
        return "SH"
    if f13 == 0:
        return "BJ" if stock_code.startswith(BEIJING_PREFIXES) else "SZ"
    return None


def _fail(error_class: ErrorClass, message: str) -> Page:
    return Page(error=FetchError(error_class, message))


def _parse(body: bytes | str, max_rows: int, row_parser) -> Page:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _fail(ErrorClass.INVALID_JSON, f"not JSON ({len(body)} bytes, starts {bytes_head(body)!r})")
    if not isinstance(doc, dict):
        return _fail(ErrorClass.SCHEMA, f"top level is {type(doc).__name__}, not an object")
    data = doc.get("data")
    if data is None:
        return _fail(ErrorClass.DATA_NULL, f"data is null (rc={str(doc.get('rc'))[:20]})")
    if not isinstance(data, dict):
        return _fail(ErrorClass.SCHEMA, f"data is {type(data).__name__}, not an object")
    total = data.get("total")
    if not _is_int(total) or total < 0:
        return _fail(ErrorClass.SCHEMA, f"data.total is {str(total)[:20]!r}, not a count")
    rows = _diff_rows(data.get("diff"))
    if rows is None:
        return _fail(
            ErrorClass.SCHEMA, f"data.diff is {type(data.get('diff')).__name__}, not a list or object"
        )
    if len(rows) > max_rows:
        return _fail(ErrorClass.SCHEMA, f"{len(rows)} rows on a page of {max_rows}")
    parsed = []
    for i, raw in enumerate(rows):
        row = row_parser(raw) if isinstance(raw, dict) else f"row is {type(raw).__name__}"
        if isinstance(row, str):
            return _fail(ErrorClass.SCHEMA, f"row {i}: {row}")
        parsed.append(row)
    return Page(total=total, rows=parsed)


def _diff_rows(diff: object) -> list | None:
    if diff is None:
        return []
    if isinstance(diff, list):
        return diff
    if isinstance(diff, dict):
        # Without np=1 the rows come as {"0": row, "1": row, ...}; order by the key's number.
        if not all(isinstance(k, str) and k.isdigit() for k in diff):
            return None
        return [diff[k] for k in sorted(diff, key=int)]
    return None


def _text(row: dict, key: str) -> str | None:
    value = row.get(key)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and value != MISSING else None


def _member_row(row: dict) -> Member | str:
    code = _text(row, "f12")
    if code is None or not STOCK_CODE.fullmatch(code):
        return f"f12 {str(row.get('f12'))[:20]!r} is not a 6-digit stock code"
    f13 = row.get("f13")
    market = market_of(code, f13) if _is_int(f13) else None
    if market is None:
        return f"f13 {str(f13)[:20]!r} is not a market (0 or 1) for {code}"
    name = _text(row, "f14")
    if name is None:
        return f"f14 (name) missing for {code}"
    return Member(stock_code=code, stock_name=name, market=market)


def expected_code(member: Member) -> bool:
    """Whether the code has a prefix we know for its market; the others are kept but flagged."""
    return bool(MARKET_CODE[member.market].fullmatch(member.stock_code))


def _board_row(row: dict, kind: BoardKind) -> Board | str:
    code = _text(row, "f12")
    if code is None or not BOARD_CODE.fullmatch(code):
        return f"f12 {str(row.get('f12'))[:20]!r} is not a board code BKnnnn"
    name = _text(row, "f14")
    if name is None:
        return f"f14 (name) missing for {code}"
    return Board(code=code, name=name, kind=kind)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def bytes_head(body: bytes | str, n: int = 40) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:n]
