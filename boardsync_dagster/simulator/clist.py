"""The clist query itself: filters, sorting, paging and field rendering, as Eastmoney answers them."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from boardsync_dagster.engine.types import BoardKind
from boardsync_dagster.simulator.dataset import BoardData, DayState, Stock

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
DEFAULT_FIELDS = (
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    20,
    21,
    23,
    24,
    25,
    22,
    11,
    62,
    128,
    136,
    115,
    152,
)
MISSING = "-"
# Values the server sends as integers scaled by 100 unless fltt=2 asks for real decimals.
_DECIMAL_FIELDS = frozenset((2, 3, 4, 7, 8, 9, 10, 11, 15, 16, 17, 18, 22, 23, 24, 25, 115, 136))
_SUSPENDED_BLANK = (2, 3, 4, 5, 6, 7, 8, 10, 11, 15, 16, 17, 22)
_KINDS = {"2": BoardKind.INDUSTRY, "3": BoardKind.CONCEPT}
_MOVING = frozenset((2, 3, 4))  # the fields prices_move changes (a board's f3 only)

Values = dict[int, object]


@dataclass(frozen=True)
class Query:
    fs: str
    pn: int = 1
    pz: int = DEFAULT_PAGE_SIZE
    po: int = 1
    np: bool = False
    fid: int = 3
    fields: tuple[int, ...] = DEFAULT_FIELDS
    fltt2: bool = False

    @classmethod
    def from_params(cls, params: dict[str, str]) -> Query:
        pz = _int(params.get("pz"), DEFAULT_PAGE_SIZE)
        return cls(
            fs=params.get("fs", ""),
            pn=max(1, _int(params.get("pn"), 1)),
            pz=min(MAX_PAGE_SIZE, pz if pz > 0 else DEFAULT_PAGE_SIZE),
            po=0 if params.get("po") == "0" else 1,
            np=params.get("np") == "1",
            fid=_field_number(params.get("fid", "")) or 3,
            fields=tuple(n for n in (_field_number(f) for f in params.get("fields", "").split(",")) if n)
            or DEFAULT_FIELDS,
            fltt2=params.get("fltt") == "2",
        )


@dataclass(frozen=True)
class Answer:
    data: dict | None  # None is sent as data:null
    board: str | None  # the member board asked for, when it exists (null_data faults apply only then)


def answer(state: DayState, query: Query, tick: int | None) -> Answer:
    """tick is None when prices hold still; otherwise it sets where every f3 is in its wave."""
    fs = " ".join(query.fs.replace("+", " ").split())
    # Only a sort by a moving field needs every row moved first; any other order is the still one, cached, and
    # only the page's rows move (a 3,700-member board would cost 14 ms a page otherwise).
    reorder = tick is not None and query.fid in _MOVING
    key = ("order", fs, query.fid, query.po)
    cached = None if reorder else state.cache.get(key)
    if cached is None:
        selected = _select(state, fs)
        if selected is None:
            return Answer(None, None)
        rows, total, member_board = selected
        if reorder:
            rows = [_moved(state, r, tick) for r in rows]  # type: ignore[arg-type]
        cached = (_sorted(rows, query.fid, descending=query.po == 1), total, member_board)
        if not reorder:
            state.cache[key] = cached
    ordered, total, member_board = cached
    start = (query.pn - 1) * query.pz
    page = ordered[start : start + query.pz]
    if tick is not None and not reorder:
        page = [_moved(state, r, tick) for r in page]
    rendered = [_render(r, query.fields, query.fltt2) for r in page]
    diff: list | dict = rendered if query.np else {str(i): row for i, row in enumerate(rendered)}
    return Answer({"total": total, "diff": diff}, member_board)


def _select(state: DayState, fs: str) -> tuple[list[Values], int, str | None] | None:
    """The rows an fs filter selects (its comma-separated clauses are a union), or None if none is known."""
    rows: list[Values] = []
    known = False
    member_board: str | None = None
    over = 0
    for clause in fs.split(","):
        tokens = dict(t.split(":", 1) for t in clause.split() if ":" in t)
        if "b" in tokens:
            board = state.boards.get(tokens["b"])
            if board is None:
                continue
            known, member_board = True, board.board.code
            rows.extend(_stock_values(state, code) for code in board.members)
            over += _over_report(board)
        elif tokens.get("m") == "90" and tokens.get("t") in _KINDS:
            known = True
            rows.extend(_board_values(state, b) for b in state.listed(_KINDS[tokens["t"]]))
    return (rows, len(rows) + over, member_board) if known else None


def ordered_fields(fields: tuple[int, ...]) -> list[int]:
    """Ascending field number, except that f140 and f141 come right after f128 (and come with it)."""
    numbers = sorted(set(fields))
    if 128 not in numbers:
        return numbers
    numbers = [n for n in numbers if n not in (140, 141)]
    at = numbers.index(128) + 1
    return numbers[:at] + [140, 141] + numbers[at:]


def moving_pct(base: float, phase: float, tick: int) -> float:
    return round(base + 1.5 * math.sin(phase + tick * 0.9), 2)


def _render(values: Values, fields: tuple[int, ...], fltt2: bool) -> dict[str, object]:
    row: dict[str, object] = {}
    for n in ordered_fields(fields):
        value = values.get(n, MISSING)
        if not fltt2 and n in _DECIMAL_FIELDS and isinstance(value, float):
            value = round(value * 100)
        row[f"f{n}"] = value
    return row


def _sorted(rows: list[Values], fid: int, descending: bool) -> list[Values]:
    # Rows without a value ("-", e.g. a suspended stock's f3) go last whichever way the sort runs.
    present = [r for r in rows if r.get(fid, MISSING) != MISSING]
    missing = [r for r in rows if r.get(fid, MISSING) == MISSING]
    present.sort(key=lambda r: (r[fid], r[12]), reverse=descending)
    missing.sort(key=lambda r: r[12])
    return present + missing


def _stock_values(state: DayState, code: str) -> Values:
    key = ("stock", code)
    values = state.cache.get(key)
    if values is None:
        values = state.cache[key] = _stock_base(state.stocks[code])
    return values


def _moved(state: DayState, values: Values, tick: int) -> Values:
    """A row at tick of the price wave: a stock's f2, f3 and f4 move (unless suspended), a board's f3."""
    code = str(values[12])
    stock = state.stocks.get(code)
    if stock is None:  # a board
        phase = (zlib.crc32(code.encode()) % 628) / 100
        return {**values, 3: moving_pct(values[3], phase, tick)}  # type: ignore[arg-type]
    if stock.pct is None:
        return values
    pct = moving_pct(stock.pct, stock.phase, tick)
    price = round(stock.prev_close * (1 + pct / 100), 2)
    return {**values, 2: price, 3: pct, 4: round(price - stock.prev_close, 2)}


def _stock_base(s: Stock) -> Values:
    pct = s.pct if s.pct is not None else 0.0
    price = round(s.prev_close * (1 + pct / 100), 2)
    seed = zlib.crc32(s.code.encode())
    turnover = round(0.3 + (seed % 1000) / 100, 2)
    volume = round(s.shares * turnover / 100 / 100)  # in lots of 100 shares
    values: Values = {
        1: 2,
        2: price,
        3: pct,
        4: round(price - s.prev_close, 2),
        5: volume,
        6: float(round(volume * 100 * price)),
        7: round(abs(pct) + (seed % 300) / 100, 2),
        8: turnover,
        9: round(5 + (seed % 9000) / 100, 2),
        10: round(0.5 + (seed % 200) / 100, 2),
        11: 0.0,
        12: s.code,
        13: 1 if s.market == "SH" else 0,
        14: s.name,
        15: round(max(price, s.prev_close) * 1.01, 2),
        16: round(min(price, s.prev_close) * 0.99, 2),
        17: s.prev_close,
        18: s.prev_close,
        20: float(round(s.shares * price)),
        21: float(round(s.shares * price * 0.8)),
        22: 0.0,
        23: round(0.5 + (seed % 800) / 100, 2),
        24: round(((seed >> 8) % 6000) / 100 - 30, 2),
        25: round(((seed >> 12) % 8000) / 100 - 40, 2),
        62: float(((seed >> 4) % 20000 - 10000) * 1000),
        115: round(5 + (seed % 12000) / 100, 2),
        152: 2,
    }
    if s.pct is None:
        for n in _SUSPENDED_BLANK:
            values[n] = MISSING
    return values


def _board_values(state: DayState, board: BoardData) -> Values:
    key = ("board", board.board.code, board.board.name)
    values = state.cache.get(key)
    if values is None:
        values = state.cache[key] = _board_base(state, board)
    return values


def _board_base(state: DayState, board: BoardData) -> Values:
    stocks = [state.stocks[c] for c in board.members]
    trading = [s for s in stocks if s.pct is not None]
    pct = round(sum(s.pct for s in trading) / len(trading), 2) if trading else 0.0  # type: ignore[misc]
    leader = max(trading, key=lambda s: (s.pct, s.code)) if trading else None
    level = round(500 + zlib.crc32(board.board.code.encode()) % 2000 + 0.5, 2)
    return {
        1: 2,
        2: level,
        3: pct,
        4: round(level * pct / 100, 2),
        8: round(sum(1 + zlib.crc32(s.code.encode()) % 500 / 100 for s in trading) / max(1, len(trading)), 2),
        12: board.board.code,
        13: 90,
        14: board.board.name,
        20: float(sum(round(s.shares * s.prev_close) for s in stocks)),
        104: sum(1 for s in trading if s.pct > 0),  # type: ignore[operator]
        105: sum(1 for s in trading if s.pct < 0),  # type: ignore[operator]
        106: sum(1 for s in trading if s.pct == 0),
        128: leader.name if leader else MISSING,
        136: leader.pct if leader else MISSING,
        140: leader.code if leader else MISSING,
        141: (1 if leader.market == "SH" else 0) if leader else MISSING,
        152: 2,
    }


def _over_report(board: BoardData) -> int:
    return 1 + zlib.crc32(board.board.code.encode()) % 3 if board.over_reported else 0


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _field_number(text: str) -> int | None:
    text = text.strip()
    return int(text[1:]) if text[:1] == "f" and text[1:].isdigit() else None
