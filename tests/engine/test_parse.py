import json

from hypothesis import given, settings
from hypothesis import strategies as st

from boardsync_dagster.engine import parse
from boardsync_dagster.engine.errors import ErrorClass
from boardsync_dagster.engine.parse import STOCK_CODE, market_of, parse_boards, parse_members
from boardsync_dagster.engine.types import Board, BoardKind, Member


def body(data, **extra) -> str:
    return json.dumps({"rc": 0, "rt": 6, "data": data, **extra}, ensure_ascii=False)


ROWS = [{"f12": "600107", "f13": 1, "f14": "美尔雅"}, {"f12": "000001", "f13": 0, "f14": "平安银行"}]


def test_array_and_keyed_object_forms_give_the_same_rows():
    as_list = parse_members(body({"total": 2, "diff": ROWS}), 100)
    as_dict = parse_members(body({"total": 2, "diff": {"1": ROWS[1], "0": ROWS[0]}}), 100)
    assert as_list.error is None and as_dict.error is None
    assert (
        as_list.rows == as_dict.rows == [Member("600107", "美尔雅", "SH"), Member("000001", "平安银行", "SZ")]
    )
    assert as_list.total == 2


def test_markets_including_beijing():
    assert market_of("600000", 1) == "SH"
    assert market_of("000001", 0) == "SZ"
    assert market_of("300750", 0) == "SZ"
    for code in ("430047", "830799", "870199", "889999", "920001"):
        assert market_of(code, 0) == "BJ"
    assert market_of("600000", 90) is None


def test_each_failure_is_classified():
    cases = {
        "<html>502</html>": ErrorClass.INVALID_JSON,
        body({"total": 2, "diff": ROWS})[:30]: ErrorClass.INVALID_JSON,
        "[1, 2]": ErrorClass.SCHEMA,
        body(None): ErrorClass.DATA_NULL,
        body("x"): ErrorClass.SCHEMA,
        body({"diff": ROWS}): ErrorClass.SCHEMA,
        body({"total": "2", "diff": ROWS}): ErrorClass.SCHEMA,
        body({"total": True, "diff": ROWS}): ErrorClass.SCHEMA,
        body({"total": 2, "diff": "x"}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [{"f12": "60010", "f13": 1, "f14": "x"}]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [{"f12": "BK0001", "f13": 1, "f14": "x"}]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [{"f12": 600107, "f13": 1, "f14": "x"}]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [{"f12": "600107", "f13": "1", "f14": "x"}]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [{"f12": "600107", "f13": 1, "f14": "-"}]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [{"f12": "600107", "f13": 1}]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": [None]}): ErrorClass.SCHEMA,
        body({"total": 1, "diff": {"a": ROWS[0]}}): ErrorClass.SCHEMA,
    }
    for text, expected in cases.items():
        page = parse_members(text, 100)
        assert page.error is not None and page.error.error_class is expected, text
        assert page.rows == []


def test_unexpected_stock_codes_are_kept_with_the_market_of_f13_and_flagged():
    """Issue 11.10: one B share (or a new prefix) failed its whole board after max_retry tries."""
    rows = [
        {"f12": "200001", "f13": 0, "f14": "深B股"},
        {"f12": "900901", "f13": 1, "f14": "沪B股"},
        {"f12": "123456", "f13": 0, "f14": "新前缀"},
        ROWS[0],
    ]
    page = parse_members(body({"total": 4, "diff": rows}), 100)
    assert page.error is None, page.error
    assert [(m.stock_code, m.market, parse.expected_code(m)) for m in page.rows] == [
        ("200001", "SZ", False),
        ("900901", "SH", False),
        ("123456", "SZ", False),
        ("600107", "SH", True),
    ]


def test_empty_diff_is_an_empty_page_not_an_error():
    for diff in ([], {}, None):
        page = parse_members(body({"total": 250, "diff": diff}), 100)
        assert page.error is None and page.rows == [] and page.total == 250


def test_more_rows_than_a_page_is_a_schema_error():
    page = parse_members(body({"total": 3, "diff": ROWS + ROWS[:1]}), 2)
    assert page.error is not None and page.error.error_class is ErrorClass.SCHEMA


def test_board_rows():
    page = parse_boards(
        body({"total": 1, "diff": [{"f12": "BK0596", "f13": 90, "f14": "融资融券"}]}), 100, BoardKind.CONCEPT
    )
    assert page.rows == [Board("BK0596", "融资融券", BoardKind.CONCEPT)]
    bad = parse_boards(
        body({"total": 1, "diff": [{"f12": "600000", "f13": 90, "f14": "x"}]}), 100, BoardKind.CONCEPT
    )
    assert bad.error is not None and bad.error.error_class is ErrorClass.SCHEMA


# --- fuzz: over response shapes, the parser never raises and never lets an invalid row through -----------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 100), st.text(max_size=8), st.sampled_from(["-", ""])
)
codes = st.one_of(st.from_regex(r"[0-9]{6}", fullmatch=True), st.text(max_size=7), st.integers(0, 999999))
rows = st.one_of(
    st.fixed_dictionaries(
        {
            "f12": codes,
            "f13": st.one_of(st.sampled_from([0, 1, 90]), scalars),
            "f14": st.one_of(st.text(max_size=6), scalars),
        }
    ),
    st.dictionaries(st.sampled_from(["f12", "f13", "f14", "f2"]), scalars, max_size=4),
    scalars,
)
diffs = st.one_of(
    st.lists(rows, max_size=6),
    st.dictionaries(st.sampled_from(["0", "1", "2", "x"]), rows, max_size=4),
    scalars,
)
datas = st.one_of(
    st.fixed_dictionaries({"total": st.one_of(st.integers(-2, 500), scalars), "diff": diffs}),
    st.dictionaries(st.sampled_from(["total", "diff"]), scalars, max_size=2),
    scalars,
)


@settings(max_examples=400, deadline=None)
@given(data=datas, cut=st.one_of(st.none(), st.integers(0, 200)))
def test_fuzz_member_pages(data, cut):
    text = body(data)
    if cut is not None:
        text = text[:cut]
    page = parse_members(text, 5)
    if page.error is not None:
        assert page.rows == []
        return
    assert isinstance(page.total, int) and page.total >= 0
    assert len(page.rows) <= 5
    for member in page.rows:
        assert isinstance(member, Member)
        assert STOCK_CODE.fullmatch(member.stock_code)
        assert member.market in ("SH", "SZ", "BJ")
        assert member.stock_name and member.stock_name != "-"


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.binary(max_size=60), st.text(max_size=60)))
def test_fuzz_arbitrary_bytes(raw):
    page = parse_members(raw, 100)
    assert page.error is not None or all(isinstance(m, Member) for m in page.rows)
