import re
from collections import Counter

from boardsync_dagster.engine.types import BoardKind
from boardsync_dagster.simulator import dataset

CODE = re.compile(
    r"^(60[0135]\d{3}|688\d{3})$|^(00[0-3]\d{3}|30[01]\d{3})$|^(43\d{4}|83\d{4}|87\d{4}|920\d{3})$"
)
MARKET_OF_PREFIX = {"6": "SH", "0": "SZ", "3": "SZ", "4": "BJ", "8": "BJ", "9": "BJ"}


def test_default_shape_is_the_seed_runs() -> None:
    truth = dataset.generate(seed=0).truth()
    industry = [m for b, m in truth.values() if b.kind == BoardKind.INDUSTRY]
    concept = {b.code: m for b, m in truth.values() if b.kind == BoardKind.CONCEPT}
    assert (len(industry), len(concept)) == (86, 441)
    assert sum(map(len, industry)) == 5450
    assert 55_000 <= sum(map(len, concept.values())) <= 56_500
    assert truth["BK0596"][0].name == "融资融券"
    assert 3600 <= len(concept["BK0596"]) <= 3700
    assert max(map(len, concept.values())) == len(concept["BK0596"])


def test_every_stock_in_exactly_one_industry_board_with_a_real_looking_code() -> None:
    state = dataset.generate(seed=3, boards_scale=0.3)
    truth = state.truth()
    in_industry = Counter(
        m.stock_code for b, ms in truth.values() if b.kind == BoardKind.INDUSTRY for m in ms
    )
    assert set(in_industry) == set(state.stocks)
    assert set(in_industry.values()) == {1}
    for board, members in truth.values():
        assert re.fullmatch(r"BK\d{4}", board.code)
        for m in members:
            assert CODE.match(m.stock_code), m
            assert m.market == MARKET_OF_PREFIX[m.stock_code[0]]
            assert m.stock_name
    assert {m.market for ms in (m for _, m in truth.values()) for m in ms} == {"SH", "SZ", "BJ"}


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert (
        dataset.generate(seed=7, boards_scale=0.1).truth()
        == dataset.generate(seed=7, boards_scale=0.1).truth()
    )
    assert (
        dataset.generate(seed=7, boards_scale=0.1).truth()
        != dataset.generate(seed=8, boards_scale=0.1).truth()
    )


def test_boards_scale_scales_the_number_of_boards() -> None:
    small = dataset.generate(boards_scale=0.05)
    assert (len(small.listed(BoardKind.INDUSTRY)), len(small.listed(BoardKind.CONCEPT))) == (4, 22)
    big = dataset.generate(boards_scale=10)
    assert (len(big.listed(BoardKind.INDUSTRY)), len(big.listed(BoardKind.CONCEPT))) == (860, 4410)
    assert sum(len(b.members) for b in big.boards.values()) > 10 * 50_000


def test_a_day_of_churn_is_exactly_what_day_changes_says() -> None:
    before = dataset.generate(seed=1, boards_scale=0.2)
    after, changes = dataset.advance(before, seed=1, members_added=7, members_removed=5)
    old, new = before.truth(), after.truth()
    assert changes.day == after.day == 1

    assert [b.code for b in changes.boards_deleted] == sorted(set(old) - set(new))
    assert [b.code for b in changes.boards_added] == sorted(set(new) - set(old))
    assert len(changes.boards_renamed) == 1
    was, now = changes.boards_renamed[0]
    assert (was.code, was.name) == (now.code, old[was.code][0].name) == (now.code, was.name)
    assert new[now.code][0].name == now.name != was.name

    common = set(old) & set(new)
    added = {(c, m.stock_code) for c in common for m in new[c][1]} - {
        (c, m.stock_code) for c in common for m in old[c][1]
    }
    removed = {(c, m.stock_code) for c in common for m in old[c][1]} - {
        (c, m.stock_code) for c in common for m in new[c][1]
    }
    assert added == {(c, m.stock_code) for c, m in changes.members_added} and len(added) == 7
    assert removed == {(c, m.stock_code) for c, m in changes.members_removed} and len(removed) == 5

    in_industry = Counter(m.stock_code for b, ms in new.values() if b.kind == BoardKind.INDUSTRY for m in ms)
    assert set(in_industry.values()) == {1}
    again, _ = dataset.advance(before, seed=1, members_added=7, members_removed=5)
    assert again.truth() == new


def test_deleted_codes_are_never_reused() -> None:
    state = dataset.generate(seed=2, boards_scale=0.05)
    deleted: set[str] = set()
    for _ in range(10):
        state, changes = dataset.advance(state, seed=2, boards_added=3, boards_deleted=2)
        deleted |= {b.code for b in changes.boards_deleted}
        assert not deleted & {b.code for b in changes.boards_added}
