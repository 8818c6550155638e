"""Bad input end to end: an Eastmoney that answers HTML, truncated or wrongly shaped JSON, missing or mistyped fields,
codes that are no stock codes, repeating pages and lying totals; a vendor that answers in unknown formats, with
garbage IPs or ports, or with expiry times in the past. Each answer is classified, retried or reported, and no
invalid row reaches the checkpoint; a stock code of an unexpected prefix is kept and flagged. (tests/engine/test_parse.py
classifies single pages and fuzzes member pages; here the pages go through HTTP, the fetcher and the PageBook, and
the fuzz checks the parser against the same rule as the WARN validity check, and covers the board-list parser.)"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boardsync_dagster.assets.member_checks import CHECK_SPECS, VALID, invalid_rows, validity
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.fetcher import sync_members
from boardsync_dagster.engine.parse import BOARD_CODE, STOCK_CODE, expected_code, parse_boards, parse_members
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.engine.types import Board, BoardKind, BoardResult, Member
from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform
from tests.reliability.conftest import ledger_used, step_failure
from tests.reliability.fakes import ScriptedServer


def envelope(total: object, rows: object) -> str:
    return json.dumps({"rc": 0, "rt": 6, "data": {"total": total, "diff": rows}}, ensure_ascii=False)


def stocks(start: int, n: int) -> list[dict]:
    return [{"f12": f"{600000 + i:06d}", "f13": 1, "f14": f"股{i}"} for i in range(start, start + n)]


def good(rows: list[dict], total: int | None = None):
    """A board whose pages of 100 are served honestly from rows."""

    def answer(page: int, n: int) -> tuple[int, str]:
        return 200, envelope(len(rows) if total is None else total, rows[(page - 1) * 100 : page * 100])

    return answer


def first_then(bad: tuple[int, str], then):
    return lambda page, n: bad if n == 0 else then(page, n)


ROWS_150 = stocks(0, 150)
# board -> (answer(page, n), what the run must make of it)
BOARDS = {
    "BK0001": (first_then((200, "<html><body>502 Bad Gateway</body></html>"), good(stocks(0, 30))), "ok"),
    "BK0002": (first_then((200, envelope(30, stocks(0, 30))[:45]), good(stocks(0, 30))), "ok"),
    "BK0003": (lambda page, n: (200, "[1, 2, 3]"), "schema"),
    "BK0004": (
        lambda page, n: (200, envelope(2, [{"f12": "600000", "f13": 1}, {"f12": "600001", "f13": 1}])),
        "schema",
    ),  # fmt: skip
    "BK0005": (lambda page, n: (200, envelope(1, [{"f12": "600000", "f13": "1", "f14": "x"}])), "schema"),
    # Six digits of a prefix we do not know (a B share, a new prefix): kept with the market f13 names, flagged.
    "BK0006": (
        lambda page, n: (
            200,
            envelope(
                3,
                [
                    {"f12": "900901", "f13": 1, "f14": "x"},
                    {"f12": "200001", "f13": 0, "f14": "y"},
                    {"f12": "600000", "f13": 1, "f14": "z"},
                ],
            ),
        ),
        "ok",
    ),  # fmt: skip
    # Not a stock code at all: rejected, retried, then the board fails for good.
    "BK0014": (lambda page, n: (200, envelope(1, [{"f12": "60000", "f13": 1, "f14": "x"}])), "schema"),
    "BK0007": (lambda page, n: (200, envelope("many", stocks(0, 3))), "schema"),
    # Page 2 repeats page 1: never accepted short, the board is fetched again and finally reported.
    "BK0008": (
        lambda page, n: (200, envelope(150, ROWS_150[:100] if page == 1 else ROWS_150[:50])),
        "inconsistent",
    ),  # fmt: skip
    # The total lies high but the pages are dense: accepted after confirmation, with a note.
    "BK0009": (good(stocks(0, 120), total=150), "ok-short"),
    # The total lies low: more rows than reported is never accepted.
    "BK0010": (lambda page, n: (200, envelope(50, stocks(0, 80))), "inconsistent"),
    # The total changes between pages.
    "BK0011": (
        lambda page, n: (200, envelope(150 if page == 1 else 151, ROWS_150[(page - 1) * 100 : page * 100])),
        "inconsistent",
    ),  # fmt: skip
    "BK0012": (lambda page, n: (502, "bad gateway") if n < 2 else good(ROWS_150)(page, n), "ok"),
    "BK0013": (good(ROWS_150), "ok"),
}


def eastmoney_answer(path: str, query: dict[str, str], n: int) -> tuple[int, str]:
    code = query["fs"].split()[0].removeprefix("b:")
    return BOARDS[code][0](int(query["pn"]), n)


def test_every_kind_of_bad_page_is_classified_and_no_invalid_row_is_checkpointed():
    config = SyncConfig(
        rng_seed=1, workers=3, req_delay_min=0, req_delay_max=0, start_stagger=0, timeout=2.0, max_retry=3
    ).validate()
    checkpointed: dict[str, BoardResult] = {}
    with ScriptedServer(eastmoney_answer) as server:
        boards = [Board(code, f"板块{code}", BoardKind.CONCEPT) for code in BOARDS]
        report = sync_members(
            boards,
            EastmoneyClient(server.url, timeout=config.timeout),
            ProxyManager(ProxySettings(), config),
            config,
            checkpoint=lambda result: checkpointed.setdefault(result.board.code, result),
        )

    assert report.stopped_reason is None
    failures = {f.board.code: f.error_class for f in report.failures}
    for code, (_, expected) in BOARDS.items():
        if expected.startswith("ok"):
            assert code in checkpointed and code not in failures, code
        else:
            assert code not in checkpointed and failures.get(code) == expected, (code, failures.get(code))
    assert "over-reported" in (checkpointed["BK0009"].short_total_note or "")
    assert len(checkpointed["BK0013"].members) == 150 and len(checkpointed["BK0009"].members) == 120
    # Every classified error was counted, the retried ones included.
    assert {"invalid_json", "schema", "inconsistent", "http_5xx"} <= set(report.errors)
    for result in checkpointed.values():
        frame = pl.DataFrame([vars(m) for m in result.members])
        unexpected = {("900901", "SH"), ("200001", "SZ")} if result.board.code == "BK0006" else set()
        assert set(invalid_rows(frame).select("stock_code", "market").iter_rows()) == unexpected
        assert frame["stock_code"].n_unique() == frame.height
    assert any("unexpected stock codes kept: 200001 (SZ), 900901 (SH)" in note for note in report.notes)
    # The check on the day's table says so, as a WARN: it never blocks the day.
    day = pl.DataFrame(
        [vars(m) | {"board_code": code} for code, r in checkpointed.items() for m in r.members]
    )
    check = validity(day)
    assert not check.passed and check.severity is dg.AssetCheckSeverity.WARN
    assert check.metadata["unexpected_codes"].value == [
        {"stock_code": "200001", "market": "SZ"},
        {"stock_code": "900901", "market": "SH"},
    ]
    assert not [spec for spec in CHECK_SPECS if spec.name == VALID and spec.blocking]


# --- fuzz: the parsers over response shapes, against the rule the blocking check applies --------------------

codes = st.one_of(
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.sampled_from(["600000", "000001", "300750", "430047", "920001", "999999", "123456", "BK0001"]),
    st.text(max_size=7),
    st.integers(0, 999999),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=5)
)
member_rows = st.fixed_dictionaries(
    {"f12": codes, "f13": st.one_of(st.sampled_from([0, 1, 2, 90]), scalars), "f14": st.one_of(st.text(max_size=4), scalars)}
)  # fmt: skip
board_rows = st.fixed_dictionaries(
    {"f12": st.one_of(st.from_regex(r"BK[0-9]{4}", fullmatch=True), codes), "f13": scalars, "f14": st.one_of(st.text(max_size=4), scalars)}
)  # fmt: skip


def page_body(rows, total, np1: bool, jsonp: bool, cut: int | None) -> str:
    diff = rows if np1 else {str(i): r for i, r in enumerate(rows)}
    text = envelope(total, diff)
    if jsonp:
        text = f"jQuery123({text});"
    return text if cut is None else text[:cut]


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(member_rows, max_size=6),
    total=st.one_of(st.integers(-1, 20), scalars),
    np1=st.booleans(),
    jsonp=st.booleans(),
    cut=st.one_of(st.none(), st.integers(0, 300)),
)
def test_fuzz_member_rows_that_pass_the_parser_are_stocks_and_the_check_flags_the_unexpected(
    rows, total, np1, jsonp, cut
):
    page = parse_members(page_body(rows, total, np1, jsonp, cut), 5)
    if page.error is not None:
        assert page.rows == []
        return
    assert not jsonp, "a JSONP body is not JSON"
    assert all(isinstance(m, Member) for m in page.rows)
    if page.rows:
        # The WARN check flags exactly the rows the parser kept as unexpected; every row has a real market.
        frame = pl.DataFrame([vars(m) for m in page.rows])
        flagged = set(invalid_rows(frame)["stock_code"])
        assert flagged == {m.stock_code for m in page.rows if not expected_code(m)}
        assert all(m.market in ("SH", "SZ", "BJ") and STOCK_CODE.fullmatch(m.stock_code) for m in page.rows)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(board_rows, max_size=6), total=st.one_of(st.integers(-1, 20), scalars), cut=st.one_of(st.none(), st.integers(0, 200)))  # fmt: skip
def test_fuzz_board_list_pages(rows, total, cut):
    page = parse_boards(page_body(rows, total, True, False, cut), 5, BoardKind.INDUSTRY)
    if page.error is not None:
        assert page.rows == []
        return
    assert isinstance(page.total, int) and not isinstance(page.total, bool) and page.total >= 0
    for board in page.rows:
        assert isinstance(board, Board) and BOARD_CODE.fullmatch(board.code)
        assert board.name and board.name.strip() == board.name and board.name != "-"


# --- the vendor talks garbage: a clear stop, one call, nothing fetched ------------------------------------------


@pytest.mark.parametrize(
    "body, words",
    [
        ("<html><body>nginx</body></html>", "unusable vendor answer (HTTP 200): unrecognised answer"),
        ('{"status": "ok", "proxies": "later"}', "unusable vendor answer (HTTP 200): unrecognised answer"),
        ("1.2.3.4:99999", "unusable vendor answer (HTTP 200): bad port"),
        ("999.1.2.3:8080", "unusable vendor answer (HTTP 200): not an IPv4 address"),
        ("0.0.0.0:8080", "unusable vendor answer (HTTP 200): unusable address"),
        ('{"code":0,"success":true,"data":[{"ip":"127.0.0.9","port":"http","expire_time":""}]}', "bad port"),
    ],
)
def test_garbage_from_the_vendor_stops_the_run_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, words: str
):
    vendor, ledger = stopped_by_vendor(tmp_path, monkeypatch, body, words)
    assert vendor == 1, "one garbage answer is enough: no retry storm"
    # The vendor may have counted the IP it meant to give: the reservation stays (never under-count).
    assert ledger == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"code":0,"success":true,"data":[{"ip":"127.0.0.9","port":8080,"expire_time":"2001-01-01 00:00:00"}]}',
        '{"code":0,"msg":"","data":{"count":1,"proxy_list":["127.0.0.9:8080,0"]}}',
    ],
)
def test_ips_expired_on_arrival_are_skipped_and_only_several_batches_in_a_row_stop_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
):
    """Issue 11.6: one such batch used to stop the run; now each is waste, and vendor_unusable_limit in a row stop."""
    limit = SyncConfig().vendor_unusable_limit
    vendor, ledger = stopped_by_vendor(
        tmp_path, monkeypatch, body, f"{limit} batches in a row of IPs that expire"
    )
    assert vendor == limit
    assert ledger == limit  # the vendor issued each of them: counted


def stopped_by_vendor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, words: str
) -> tuple[int, int]:
    """Run the job against a vendor that always answers body: it stops in board_list, with words in the failure,
    before any Eastmoney request and with nothing materialised. Returns (vendor calls, IPs in the ledger)."""
    with (
        Simulator(profile="calm", scale=0.05, rng_seed=41, boards_scale=0.05) as sim,
        ScriptedServer(lambda path, query, n: (200, body)) as vendor,
    ):
        db = tmp_path / "boardsync.duckdb"
        job = Platform(sim, db, monkeypatch, scale=0.05)
        monkeypatch.setenv("BOARDSYNC_PROXY_API", vendor.url + "/get?key=k&num=1")
        result = job.run()
        assert not result.success
        message = step_failure(result, "raw__board_list")
        assert words in message, message
        assert sim.stats()["requests"] == 0
        assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
        return vendor.total_calls(), ledger_used(db)
