"""The clist API as a third-party client sees it, straight to the server (calm profile)."""

import json

import pytest
import requests

from boardsync_dagster.engine.types import BoardKind
from boardsync_dagster.simulator import Simulator, dataset
from tests.simulator.conftest import clist, members_params


def test_paging_returns_every_member_once_then_an_empty_page(sim: Simulator) -> None:
    board, members = sim.truth()["BK0596"]
    assert len(members) > 100  # more than one page even in the small set
    rows: list[dict] = []
    for pn in range(1, 10):
        data = clist(sim, **members_params("BK0596", pn=pn)).json()["data"]
        assert data["total"] == len(members)
        if not data["diff"]:
            break
        rows.extend(data["diff"])
    else:
        pytest.fail("no empty page past the last one")
    assert pn == len(members) // 100 + 2
    market = {"SH": 1, "SZ": 0, "BJ": 0}
    assert rows == [{"f12": m.stock_code, "f13": market[m.market], "f14": m.stock_name} for m in members]


def test_page_size_is_capped_at_100_silently(sim: Simulator) -> None:
    data = clist(sim, **members_params("BK0596", pz=500)).json()["data"]
    assert len(data["diff"]) == 100
    assert data["total"] > 100


def test_np1_gives_an_array_otherwise_an_object_keyed_by_position(sim: Simulator) -> None:
    params = members_params("BK0596", pz=3)
    array = clist(sim, **params).json()["data"]["diff"]
    del params["np"]
    keyed = clist(sim, **params).json()["data"]["diff"]
    assert isinstance(array, list)
    assert keyed == {"0": array[0], "1": array[1], "2": array[2]}


def test_fields_come_in_eastmoney_key_order_with_dash_for_missing(sim: Simulator) -> None:
    fs = "m:90 t:3 f:!50"
    row = clist(sim, fs=fs, np=1, fltt=2, fields="f14,f3,f141,f999,f12,f128,f2,f140,f13").json()["data"][
        "diff"
    ][0]
    assert list(row) == ["f2", "f3", "f12", "f13", "f14", "f128", "f140", "f141", "f999"]
    assert row["f999"] == "-"
    assert row["f13"] == 90 and row["f12"].startswith("BK")
    # f140 and f141 come with f128 even when not asked for.
    row = clist(sim, fs=fs, np=1, fields="f12,f128,f104,f105").json()["data"]["diff"][0]
    assert list(row) == ["f12", "f104", "f105", "f128", "f140", "f141"]
    assert isinstance(row["f104"], int) and isinstance(row["f105"], int)


def test_fltt2_gives_decimals_otherwise_scaled_integers(sim: Simulator) -> None:
    params = members_params("BK0596", pz=5, fields="f2,f12,f18")
    real = clist(sim, **params).json()["data"]["diff"]
    del params["fltt"]
    scaled = clist(sim, **params).json()["data"]["diff"]
    for r, s in zip(real, scaled, strict=True):
        assert isinstance(s["f18"], int) and s["f18"] == round(r["f18"] * 100)


@pytest.mark.parametrize("po", [0, 1])
def test_sorted_by_fid_in_po_order_with_missing_values_last(sim: Simulator, po: int) -> None:
    state = dataset.generate(seed=0, boards_scale=0.05)
    suspended = next(s for s in state.stocks.values() if s.pct is None)
    board = next(b for b in state.listed(BoardKind.INDUSTRY) if suspended.code in b.members)
    params = {"fs": f"b:{board.board.code}", "pz": 100, "np": 1, "fltt": 2, "fid": "f3", "po": po}
    rows = clist(sim, **params, fields="f3,f12").json()["data"]["diff"]
    assert len(rows) == len(board.members) <= 100
    values = [r["f3"] for r in rows if r["f3"] != "-"]
    assert values == sorted(values, reverse=po == 1)
    assert rows[-1]["f3"] == "-"
    assert suspended.code in {r["f12"] for r in rows if r["f3"] == "-"}
    codes = [r["f12"] for r in clist(sim, **{**params, "fid": "f12"}, fields="f12").json()["data"]["diff"]]
    assert codes == sorted(codes, reverse=po == 1)


def test_board_lists_by_kind(sim: Simulator) -> None:
    truth = sim.truth()
    for t, kind in (("2", BoardKind.INDUSTRY), ("3", BoardKind.CONCEPT)):
        data = clist(sim, fs=f"m:90 t:{t} f:!50", pz=100, np=1, fid="f12", po=0, fields="f12,f13,f14").json()[
            "data"
        ]
        expected = sorted((b.code, b.name) for b, _ in truth.values() if b.kind == kind)
        assert data["total"] == len(expected)
        assert [(r["f12"], r["f14"]) for r in data["diff"]] == expected


def test_plus_and_space_are_the_same_in_fs(sim: Simulator) -> None:
    base = sim.clist_url + "?pn=1&pz=5&np=1&fields=f12&fid=f12&po=0&fs="
    literal_plus = requests.get(base + "b:BK0596+f:!50", timeout=5).json()  # + in a query means a space
    encoded_plus = requests.get(base + "b:BK0596%2Bf:!50", timeout=5).json()  # a real plus sign
    space = requests.get(base + "b:BK0596%20f:!50", timeout=5).json()
    assert literal_plus == encoded_plus == space
    assert space["data"]["total"] == len(sim.truth()["BK0596"][1])


def test_unknown_board_and_unknown_filter_give_null_data(sim: Simulator) -> None:
    body = clist(sim, **members_params("BK9998")).json()
    assert body["data"] is None
    assert {"rc": 0, "rt": 6, "lt": 1, "full": 1, "dlmkts": ""}.items() <= body.items()
    assert clist(sim, fs="m:90 t:99").json()["data"] is None
    assert sim.stats()["replies"] == {"unknown": 2}


def test_envelope_and_jsonp(sim: Simulator) -> None:
    reply = clist(sim, **members_params("BK0596", pz=1), cb="jQuery123")
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.text.startswith("jQuery123(") and reply.text.endswith(");")
    body = json.loads(reply.text[len("jQuery123(") : -2])
    assert set(body) == {"rc", "rt", "svr", "lt", "full", "dlmkts", "data"}


def test_other_paths_are_404(sim: Simulator) -> None:
    assert requests.get(sim.eastmoney_url + "/api/qt/ulist/get", timeout=5).status_code == 404
