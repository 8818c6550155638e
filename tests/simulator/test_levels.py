"""The 2026 three-level industry world, and boards that leave the list and come back."""

from __future__ import annotations

import hashlib
from collections import Counter

from boardsync_dagster.engine.types import BoardKind
from boardsync_dagster.simulator import dataset, levels

# The default world's first four days (seed 7, boards_scale 0.2) as generated before the levels world and
# restored boards existed: adding them must not move one byte of it.
DEFAULT_WORLD_DIGEST = "60ab4603fdf0cb7ec1a17b7cd9994fe90bc3dbe0fa484f057f593518f9f7f033"


def digest_of_days(state: dataset.DayState, days: int) -> str:
    digest = hashlib.sha256()
    for _ in range(days):
        for code, (board, members) in state.truth().items():
            row = (state.day, code, board.name, board.kind.value, [m.stock_code for m in members])
            digest.update(repr(row).encode())
        state, _ = dataset.advance(state, 7)
    return digest.hexdigest()


def industries(state: dataset.DayState) -> dict[str, frozenset[str]]:
    return {
        code: frozenset(b.members) for code, b in state.boards.items() if b.board.kind == BoardKind.INDUSTRY
    }


def test_the_default_world_is_unchanged():
    assert digest_of_days(levels.generate(7, 0.2), 4) == DEFAULT_WORLD_DIGEST
    assert digest_of_days(dataset.generate(7, 0.2), 4) == DEFAULT_WORLD_DIGEST


def test_levels_world_is_a_three_level_tree_of_about_496_boards():
    state = levels.generate(0, 1.0, "levels2026")
    boards = industries(state)
    # Level = 1 + the number of industry boards strictly containing it: the truth the mart must infer.
    containers = {c: [o for o, m in boards.items() if members < m] for c, members in boards.items()}
    by_level = Counter(len(found) + 1 for found in containers.values())
    assert by_level == {1: 31, 2: 130, 3: 335}
    for code, members in boards.items():
        for other, others in boards.items():
            assert code == other or members <= others or others <= members or not members & others
    per_stock = Counter(stock for members in boards.values() for stock in members)
    assert set(per_stock.values()) == {3} and len(per_stock) == len(state.stocks)
    names = [state.boards[code].board.name for code in boards]
    assert len(set(names)) == len(names)
    concepts = [b for b in state.boards.values() if b.board.kind == BoardKind.CONCEPT]
    assert len(concepts) == dataset.SEED_CONCEPTS


def test_each_parent_has_two_children_so_no_two_boards_share_their_members():
    boards = industries(levels.generate(3, 0.03, "levels2026"))
    assert len(set(boards.values())) == len(boards)


def test_churn_keeps_the_tree():
    state = levels.generate(1, 0.1, "levels2026")
    before = industries(state)
    for _ in range(3):
        state, changes = dataset.advance(state, 1)
        assert changes.members_added and changes.boards_renamed
    assert industries(state) == before


def test_a_deleted_board_comes_back_as_it_was():
    day0 = dataset.generate(5, 0.05)
    state, first = dataset.advance(day0, 5, boards_deleted=2)
    gone = sorted(b.code for b in first.boards_deleted)
    state, second = dataset.advance(state, 5, boards_deleted=0, boards_restored=1)
    (back,) = second.boards_restored
    assert back in first.boards_deleted
    assert state.boards[back.code].board == back
    assert state.boards[back.code].members == day0.boards[back.code].members  # deleted before any churn
    assert back.code not in state.deleted
    state, third = dataset.advance(state, 5, boards_deleted=0, boards_restored=5)
    assert [b.code for b in third.boards_restored] == [c for c in gone if c != back.code]
