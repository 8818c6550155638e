"""The deterministic data set: stocks, boards, their members, and a day's controlled churn."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field

from boardsync_dagster.engine.types import Board, BoardKind, Member
from boardsync_dagster.simulator import names

# The seed run's shape (Dec 2025).
SEED_INDUSTRIES = 86
SEED_CONCEPTS = 441
SEED_STOCKS = 5450
SEED_CONCEPT_ROWS = 55_750
# Codes run out past this many stocks (the SH and SZ prefixes hold 1,000 codes each).
MAX_STOCKS = 11_000

# prefix, how many codes it holds, share of the market's stocks
_PREFIXES = {
    "SH": (("600", 1000), ("601", 1000), ("603", 1000), ("605", 1000), ("688", 1000)),
    "SZ": (("000", 1000), ("001", 1000), ("002", 1000), ("003", 1000), ("300", 1000), ("301", 1000)),
    "BJ": (("43", 10000), ("83", 10000), ("87", 10000), ("920", 1000)),
}
_MARKET_SHARE = (("SH", 0.42), ("SZ", 0.52), ("BJ", 0.06))
_FIRST_CODE, _LAST_CODE = (
    400,
    9999,
)  # BK0400..BK9999; small sets stay within BK0400..BK1999 like the real ones


@dataclass(frozen=True)
class Stock:
    code: str
    name: str
    market: str  # SH, SZ or BJ
    prev_close: float
    pct: float | None  # None: suspended, its prices show as "-"
    shares: float
    phase: float  # where this stock's price wave starts when prices move


@dataclass(frozen=True)
class BoardData:
    board: Board
    members: tuple[str, ...]  # stock codes
    over_reported: bool = False


@dataclass
class DayState:
    """One day of data. Never mutated once published; advance() builds the next one."""

    day: int
    stocks: dict[str, Stock]
    boards: dict[str, BoardData]
    retired: frozenset[str] = frozenset()  # deleted board codes, never reused: codes are identity
    deleted: dict[str, BoardData] = field(default_factory=dict)  # as they were last listed, to restore them
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def listed(self, kind: BoardKind) -> list[BoardData]:
        return [b for b in self.boards.values() if b.board.kind == kind]

    def truth(self) -> dict[str, tuple[Board, list[Member]]]:
        out = {}
        for code, data in self.boards.items():
            members = [self.member(c) for c in sorted(data.members)]
            out[code] = (data.board, members)
        return out

    def member(self, stock_code: str) -> Member:
        s = self.stocks[stock_code]
        return Member(stock_code=s.code, stock_name=s.name, market=s.market)


@dataclass
class DayChanges:
    """What advance_day changed. Members of an added board are in truth(), not in members_added."""

    day: int
    members_added: list[tuple[str, Member]] = field(default_factory=list)  # (board code, member)
    members_removed: list[tuple[str, Member]] = field(default_factory=list)
    boards_added: list[Board] = field(default_factory=list)
    boards_deleted: list[Board] = field(default_factory=list)
    boards_renamed: list[tuple[Board, Board]] = field(default_factory=list)  # (before, after)
    boards_restored: list[Board] = field(default_factory=list)  # deleted earlier, listed again as they were


def generate(seed: int = 0, boards_scale: float = 1.0) -> DayState:
    rng = random.Random(f"boardsync-sim:{seed}")
    n_industries = max(1, round(SEED_INDUSTRIES * boards_scale))
    n_concepts = max(1, round(SEED_CONCEPTS * boards_scale))
    if n_industries + n_concepts > (_LAST_CODE - _FIRST_CODE) - 500:
        raise ValueError(f"boards_scale {boards_scale} needs more BK codes than exist")
    n_stocks = min(MAX_STOCKS, max(round(SEED_STOCKS * boards_scale), 5 * n_industries))
    stocks = _stocks(rng, n_stocks)
    codes = list(stocks)
    n_stocks = len(codes)  # the market shares round
    board_codes = _code_pool(rng, {c for c, _, _ in names.BIG_CONCEPTS}, n_industries + n_concepts)

    boards: list[BoardData] = []
    for name, members in zip(
        names.industry_names(n_industries), _partition(rng, codes, n_industries), strict=True
    ):
        boards.append(BoardData(Board(board_codes.pop(), name, BoardKind.INDUSTRY), members))

    big = names.BIG_CONCEPTS[:n_concepts]
    target_rows = SEED_CONCEPT_ROWS * boards_scale
    for code, name, size in big:
        count = min(n_stocks, max(1, round(size / SEED_STOCKS * n_stocks)))
        boards.append(BoardData(Board(code, name, BoardKind.CONCEPT), _sample(rng, codes, count)))
        target_rows -= count
    rest = n_concepts - len(big)
    taken = {n for _, n, _ in big}
    weights = [rng.lognormvariate(0, 0.9) for _ in range(rest)]
    per_weight = max(target_rows, rest) / (sum(weights) or 1.0)
    for name, w in zip(names.concept_names(rng, rest, taken), weights, strict=True):
        count = min(n_stocks, max(1, round(w * per_weight)))
        boards.append(
            BoardData(Board(board_codes.pop(), name, BoardKind.CONCEPT), _sample(rng, codes, count))
        )

    boards.sort(key=lambda b: b.board.code)
    return DayState(day=0, stocks=stocks, boards={b.board.code: b for b in boards})


def mark_over_reported(state: DayState, share: float, seed: int) -> DayState:
    """Flag share of the boards whose total the server will over-report, the same boards all day."""
    rng = random.Random(f"boardsync-sim:{seed}:over:{state.day}")
    boards = {
        code: BoardData(b.board, b.members, over_reported=rng.random() < share)
        for code, b in state.boards.items()
    }
    return dataclasses.replace(state, boards=boards, cache={})


def advance(
    state: DayState,
    seed: int,
    members_added: int = 20,
    members_removed: int = 20,
    boards_added: int = 1,
    boards_deleted: int = 1,
    boards_renamed: int = 1,
    boards_restored: int = 0,
) -> tuple[DayState, DayChanges]:
    """The next day: churn on concept boards only, so every stock stays in exactly one industry board (per
    level). boards_restored lists again boards deleted on earlier days, with their code, name and members."""
    day = state.day + 1
    rng = random.Random(f"boardsync-sim:{seed}:day:{day}")
    changes = DayChanges(day=day)
    boards = {code: BoardData(b.board, b.members) for code, b in state.boards.items()}
    stock_codes = list(state.stocks)
    protected = {c for c, _, _ in names.BIG_CONCEPTS}

    def concepts(min_members: int = 0) -> list[str]:
        return [
            c
            for c, b in boards.items()
            if b.board.kind == BoardKind.CONCEPT and c not in protected and len(b.members) >= min_members
        ]

    retired = set(state.retired)
    deleted = dict(state.deleted)
    for code in rng.sample(concepts(), min(boards_deleted, len(concepts()))):
        deleted[code] = boards.pop(code)
        changes.boards_deleted.append(deleted[code].board)
        retired.add(code)

    taken = {b.board.name for b in boards.values()}
    renamable = concepts()
    picked = rng.sample(renamable, min(boards_renamed, len(renamable)))
    for code, new_name in zip(picked, names.concept_names(rng, len(picked), taken), strict=True):
        old = boards[code]
        renamed = Board(code, new_name, old.board.kind)
        boards[code] = BoardData(renamed, old.members)
        changes.boards_renamed.append((old.board, renamed))
        taken.add(new_name)

    removed_today: set[tuple[str, str]] = set()
    for _ in range(members_removed):
        candidates = concepts(min_members=2)
        if not candidates:
            break
        code = rng.choice(candidates)
        gone = rng.choice(boards[code].members)
        boards[code] = BoardData(boards[code].board, tuple(m for m in boards[code].members if m != gone))
        changes.members_removed.append((code, state.member(gone)))
        removed_today.add((code, gone))

    for _ in range(members_added):
        candidates = [c for c in concepts() if len(boards[c].members) < len(stock_codes)]
        if not candidates:
            break
        code = rng.choice(candidates)
        # Never re-add what left this board today: DayChanges must list net changes only.
        present = set(boards[code].members) | {s for c, s in removed_today if c == code}
        options = [s for s in stock_codes if s not in present]
        if not options:
            continue
        new = rng.choice(options)
        boards[code] = BoardData(boards[code].board, tuple(sorted((*boards[code].members, new))))
        changes.members_added.append((code, state.member(new)))

    pool = _code_pool(rng, set(boards) | retired, len(boards) + len(retired))
    for name in names.concept_names(rng, boards_added, taken):
        size = max(1, min(len(stock_codes), round(rng.uniform(0.005, 0.015) * len(stock_codes))))
        board = Board(pool.pop(), name, BoardKind.CONCEPT)
        boards[board.code] = BoardData(board, _sample(rng, stock_codes, size))
        changes.boards_added.append(board)

    # Drawn last and only when asked, so the default days stay what they were for a seed.
    if boards_restored:
        returning = [c for c in sorted(state.deleted) if c not in boards]
        for code in rng.sample(returning, min(boards_restored, len(returning))):
            boards[code] = deleted.pop(code)
            changes.boards_restored.append(boards[code].board)

    ordered = dict(sorted(boards.items()))
    return DayState(day, state.stocks, ordered, frozenset(retired), deleted), changes


def _stocks(rng: random.Random, count: int) -> dict[str, Stock]:
    stocks: dict[str, Stock] = {}
    for market, share in _MARKET_SHARE:
        prefixes = _PREFIXES[market]
        capacity = sum(n for _, n in prefixes)
        wanted = min(capacity, round(count * share))
        for index in rng.sample(range(capacity), wanted):
            code = _code_at(prefixes, index)
            limit = 30.0 if market == "BJ" else 20.0 if code.startswith(("300", "301", "688")) else 10.0
            suspended = rng.random() < 0.01
            pct = None if suspended else round(max(-limit, min(limit, rng.gauss(0.2, 2.5))), 2)
            stocks[code] = Stock(
                code=code,
                name=names.stock_name(rng),
                market=market,
                prev_close=round(max(1.0, rng.lognormvariate(math.log(12), 0.8)), 2),
                pct=pct,
                shares=round(rng.lognormvariate(math.log(5e8), 1.0), -4),
                phase=rng.uniform(0, 2 * math.pi),
            )
    return dict(sorted(stocks.items()))


def _code_at(prefixes: tuple[tuple[str, int], ...], index: int) -> str:
    for prefix, size in prefixes:
        if index < size:
            return prefix + str(index).zfill(6 - len(prefix))
        index -= size
    raise IndexError(index)


def _code_pool(rng: random.Random, exclude: set[str], boards: int) -> list[str]:
    last = min(_LAST_CODE, _FIRST_CODE + max(1600, 2 * boards))
    pool = [f"BK{n:04d}" for n in range(_FIRST_CODE, last + 1)]
    pool = [c for c in pool if c not in exclude]
    rng.shuffle(pool)
    return pool


def _partition(rng: random.Random, codes: list[str], parts: int) -> list[tuple[str, ...]]:
    """Split codes into parts non-empty groups of uneven sizes: each stock in exactly one industry."""
    shuffled = codes[:]
    rng.shuffle(shuffled)
    weights = [rng.lognormvariate(0, 0.6) for _ in range(parts)]
    spare = len(codes) - parts  # every group gets one stock, the rest by weight
    total = sum(weights)
    bounds, acc = [0], 0.0
    for i, w in enumerate(weights):
        acc += w
        bounds.append(i + 1 + round(spare * acc / total))
    return [tuple(sorted(shuffled[a:b])) for a, b in zip(bounds, bounds[1:], strict=False)]


def _sample(rng: random.Random, codes: list[str], count: int) -> tuple[str, ...]:
    return tuple(sorted(rng.sample(codes, count)))
