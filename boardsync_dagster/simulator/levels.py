"""Eastmoney's 2026 industry list: since February 2026 it returns about 496 industry boards of the first, second
and third level mixed together, with no level field (akshare #7067). This world replaces the seed world's 86
flat industries with such a tree; stocks, concepts and their churn are the seed world's.

Each stock is in exactly one industry board per level; every third-level board lies inside one second-level
board, every second-level board inside one first-level board. Each parent has at least two children, so a parent
never has exactly its child's members: the levels can then be told apart from the members alone, which is what
the `industry_levels` mart does.
"""

from __future__ import annotations

import dataclasses
import random

from boardsync_dagster.engine.types import Board, BoardKind
from boardsync_dagster.simulator import dataset, names

WORLDS = ("classic", "levels2026")
# Boards per level at boards_scale 1 (Eastmoney's 2026 list: about 31 / 130 / 335).
LEVEL_BOARDS = (31, 130, 335)
_LEVEL_MARKS = ("", "Ⅱ", "Ⅲ")


def generate(seed: int = 0, boards_scale: float = 1.0, world: str = "classic") -> dataset.DayState:
    """The first day of `world`: "classic" (86 flat industries, dataset.generate unchanged) or "levels2026"."""
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; known: {', '.join(WORLDS)}")
    state = dataset.generate(seed, boards_scale)
    if world == "classic":
        return state
    rng = random.Random(f"boardsync-sim:{seed}:levels")
    concepts = {code: b for code, b in state.boards.items() if b.board.kind == BoardKind.CONCEPT}
    counts = _level_counts(boards_scale, len(state.stocks))
    codes = dataset._code_pool(rng, set(concepts), len(concepts) + sum(counts))
    industries = _tree(rng, sorted(state.stocks), counts, codes)
    boards = dict(sorted({**concepts, **industries}.items()))
    return dataclasses.replace(state, boards=boards, cache={})


def _level_counts(boards_scale: float, stocks: int) -> tuple[int, int, int]:
    """Boards per level, each level at least twice the one above (two children per parent) and no more
    third-level boards than there are stocks."""
    first = max(1, round(LEVEL_BOARDS[0] * boards_scale))
    second = max(2 * first, round(LEVEL_BOARDS[1] * boards_scale))
    third = min(stocks, max(2 * second, round(LEVEL_BOARDS[2] * boards_scale)))
    if third < 2 * second:
        raise ValueError(f"{stocks} stocks are too few for a three-level industry tree")
    return first, second, third


def _tree(
    rng: random.Random, stocks: list[str], counts: tuple[int, int, int], codes: list[str]
) -> dict[str, dataset.BoardData]:
    """Third-level boards partition the stocks; each level above groups the one below, two or more at a time."""
    first, second, third = counts
    leaves = _groups(rng, stocks, third, least=1)
    seconds = [tuple(sorted(s for leaf in group for s in leaf)) for group in _groups(rng, leaves, second, 2)]
    firsts = [tuple(sorted(s for child in group for s in child)) for group in _groups(rng, seconds, first, 2)]
    out: dict[str, dataset.BoardData] = {}
    for level, groups in enumerate((firsts, seconds, leaves)):
        for name, members in zip(_names(level, len(groups)), groups, strict=True):
            board = Board(codes.pop(), name, BoardKind.INDUSTRY)
            out[board.code] = dataset.BoardData(board, tuple(sorted(members)))
    return out


def _groups(rng: random.Random, items: list, parts: int, least: int) -> list[list]:
    """items split into `parts` groups of at least `least`, uneven like real industries."""
    shuffled = items[:]
    rng.shuffle(shuffled)
    weights = [rng.lognormvariate(0, 0.6) for _ in range(parts)]
    spare, total = len(items) - least * parts, sum(weights)
    bounds, acc = [0], 0.0
    for i, weight in enumerate(weights):
        acc += weight
        bounds.append(least * (i + 1) + round(spare * acc / total))
    return [shuffled[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _names(level: int, count: int) -> list[str]:
    """Distinct names per level; the level's mark keeps them distinct across levels too."""
    return [name + _LEVEL_MARKS[level] for name in names.industry_names(count)]
