"""Each fault kind at probability 1.0, and the bans."""

import contextlib
import http.client
import json
import threading
from dataclasses import replace

import pytest
import requests

from boardsync_dagster.simulator import PROFILES, Profile, Simulator
from boardsync_dagster.simulator.ban_rules import parse
from boardsync_dagster.simulator.bans import BanList
from tests.simulator.conftest import MakeSim, clist, finishes, members_params, take_proxy


def test_drop_closes_without_a_reply(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(drop=1.0))
    with pytest.raises(requests.ConnectionError) as caught:
        clist(sim, **members_params("BK0596"))
    assert "RemoteDisconnected" in repr(caught.value)
    assert sim.stats()["replies"] == {"drop": 1}


def test_http502(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(http502=1.0))
    assert clist(sim, **members_params("BK0596")).status_code == 502
    assert sim.stats()["replies"] == {"http502": 1}


def test_slow_reply_outlasts_the_client_timeout_and_does_not_hold_up_stop(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(slow=1.0, slow_delay=600.0), scale=1.0)  # a reply held for 10 minutes
    with pytest.raises(requests.ReadTimeout):
        clist(sim, timeout=0.3, **members_params("BK0596"))
    # stop() wakes the held reply instead of waiting out its 600 s (the 60 s bound only catches a hang).
    assert finishes(sim.stop, within_s=60)


def test_slow_reply_comes_after_slow_delay_times_scale(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(slow=1.0, slow_delay=30.0), scale=0.01)  # held 0.3 s
    # Ordered, not timed: a client that gives up before 0.3 s never sees the reply; a patient one gets it.
    with pytest.raises(requests.ReadTimeout):
        clist(sim, timeout=0.1, **members_params("BK0596"))
    assert clist(sim, timeout=60, **members_params("BK0596")).json()["data"]["total"] > 0


def test_latency_is_scaled(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(latency=20.0), scale=0.01)  # every reply 0.2 s late
    with pytest.raises(requests.ReadTimeout):
        clist(sim, timeout=0.05, **members_params("BK0596"))
    assert clist(sim, timeout=60, **members_params("BK0596")).status_code == 200


def test_truncated_json(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(truncated=1.0))
    reply = clist(sim, **members_params("BK0596"))
    assert reply.status_code == 200
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.text)


def test_null_data_hits_real_boards_only(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(null_data=1.0))
    assert clist(sim, **members_params("BK0596")).json()["data"] is None
    assert clist(sim, fs="m:90 t:3 f:!50").json()["data"]["total"] == 22
    assert sim.stats()["replies"] == {"null_data": 1, "ok": 1}


def test_prices_move_between_requests_and_shift_pages_sorted_by_f3(make_sim: MakeSim) -> None:
    params = members_params("BK0596", fid="f3", po=1, fields="f3,f12")
    still = make_sim()
    assert clist(still, **params).json() == clist(still, **params).json()
    moving = make_sim(profile=Profile(prices_move=True))
    first, second = (clist(moving, **params).json()["data"]["diff"] for _ in range(2))
    assert [r["f12"] for r in first] != [r["f12"] for r in second]
    for rows in (first, second):
        values = [r["f3"] for r in rows if r["f3"] != "-"]
        assert values == sorted(values, reverse=True)


def test_prices_move_keeps_pages_sorted_by_code_in_place(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(prices_move=True))
    params = members_params("BK0596", pn=2, fields="f3,f12")
    first, second = (clist(sim, **params).json()["data"]["diff"] for _ in range(2))
    codes = [r["f12"] for r in first]
    assert codes == [r["f12"] for r in second] == [m.stock_code for m in sim.truth()["BK0596"][1][100:200]]
    assert [r["f3"] for r in first] != [r["f3"] for r in second]


def test_over_reported_totals_run_out_of_pages_first(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(over_report=1.0))
    members = sim.truth()["BK0596"][1]
    data = clist(sim, **members_params("BK0596", pn=2)).json()["data"]
    assert data["total"] > len(members)
    assert len(data["diff"]) == len(members) - 100
    assert clist(sim, **members_params("BK0596", pn=3)).json()["data"]["diff"] == []


def test_ban_after_too_many_requests_from_one_ip_then_lifted(make_sim: MakeSim) -> None:
    # The ban (30 s) outlasts the IP life (10 s), as every ban must.
    sim = make_sim(profile=Profile(ban="5/1000s,ban=30s"), scale=0.01, ip_ttl=10.0)
    for _ in range(5):
        assert clist(sim, **members_params("BK0596")).status_code == 200
    with pytest.raises(requests.ConnectionError):
        clist(sim, **members_params("BK0596"))
    assert sim.stats()["bans"] == 1 and sim.stats()["banned_ips"] == 1
    # The ban lasts 30 x 0.01 = 0.3 s. Nothing to wait on but the clock: poll, bounded by count (~60 s at most).
    refused = 0
    for _ in range(3000):
        try:
            clist(sim, **members_params("BK0596"))
            break
        except requests.ConnectionError:
            refused += 1
            threading.Event().wait(0.02)
    else:
        pytest.fail("the ban never lifted")
    # The ban held for a while (more than the one request that tripped it), then lifted; one ban, no second one.
    assert refused >= 1 and sim.stats()["replies"]["banned"] == refused + 1
    assert sim.stats()["bans"] == 1 and sim.stats()["banned_ips"] == 0


def test_ban_is_per_source_ip_as_seen_through_proxies(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(ban="3/1000s,ban=1000s"), min_interval=0)
    first, second = take_proxy(sim), take_proxy(sim)
    for _ in range(3):
        assert clist(sim, proxy=first, **members_params("BK0596")).status_code == 200
    with pytest.raises(requests.ConnectionError):
        clist(sim, proxy=first, **members_params("BK0596"))
    assert clist(sim, proxy=second, **members_params("BK0596")).status_code == 200
    assert clist(sim, **members_params("BK0596")).status_code == 200
    assert sim.stats()["sources"][first.split(":")[0]] == 4


def test_sliding_window() -> None:
    bans, rule = BanList(), parse("3/10s,ban=5s")
    # More than 3 in any 10 s is banned for 5 s. Steady requests every 4 s never trip it (a plain counter would
    # at the 4th); 20.5 makes 12, 16, 20, 20.5 within 10 s (fixed 10 s buckets would hold only 20 and 20.5).
    for t in (0.0, 4.0, 8.0, 12.0, 16.0, 20.0):
        assert bans.admit("a", t, rule)
    assert bans.admit("b", 20.5, rule)
    assert not bans.admit("a", 20.5, rule)
    assert not bans.admit("a", 25.4, rule)
    assert bans.admit("a", 25.6, rule)
    assert bans.bans == 1 and bans.banned_now(25.0) == 1 and bans.banned_now(25.6) == 0
    assert all(bans.admit("c", float(t), parse("none")) for t in range(100))


def test_ban_all_drops_everyone_until_lifted(sim: Simulator) -> None:
    sim.ban_all(True)
    with pytest.raises(requests.ConnectionError):
        clist(sim, **members_params("BK0596"))
    sim.ban_all(False)
    assert clist(sim, **members_params("BK0596")).status_code == 200


def test_set_profile_changes_faults_live(sim: Simulator) -> None:
    assert clist(sim, **members_params("BK0596")).status_code == 200
    sim.set_profile(Profile(http502=1.0))
    assert clist(sim, **members_params("BK0596")).status_code == 502
    sim.set_profile(Profile(over_report=1.0))
    assert clist(sim, **members_params("BK0596")).json()["data"]["total"] > len(sim.truth()["BK0596"][1])
    sim.set_profile("calm")
    assert clist(sim, **members_params("BK0596")).json()["data"]["total"] == len(sim.truth()["BK0596"][1])


def test_hostile_shows_every_fault_kind(make_sim: MakeSim) -> None:
    sim = make_sim(profile=replace(PROFILES["hostile"], ban="none"), scale=0.001)
    session = requests.Session()
    for _ in range(400):
        with contextlib.suppress(requests.RequestException):
            session.get(sim.clist_url, params=members_params("BK0596"), timeout=5)
    replies = sim.stats()["replies"]
    assert {"ok", "drop", "http502", "slow", "truncated", "null_data"} <= set(replies), replies


def test_named_profiles_are_calibrated_as_documented() -> None:
    calm, seed, hostile = PROFILES["calm"], PROFILES["typical"], PROFILES["hostile"]
    assert calm == Profile(name="calm")
    assert 0.15 <= seed.dead_ip <= 0.25 and seed.ban == parse("300/60s,reset,ban=600s")
    assert not seed.prices_move and hostile.prices_move
    # The seed's one shared IP: 6 workers, a request every 1-2 s each, about 240 a minute, never banned.
    seed_limit, hostile_limit = seed.ban.limit, hostile.ban.limit
    assert seed_limit.requests is not None and seed_limit.requests > 6 * 60 / 1.5
    assert hostile_limit.requests is not None
    assert hostile_limit.requests / hostile_limit.window < seed_limit.requests / seed_limit.window
    for kind in ("drop", "http502", "slow", "truncated", "null_data"):
        assert getattr(hostile, kind) > getattr(seed, kind) > 0


def test_http_client_sees_remote_disconnected(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(drop=1.0))
    host, port = sim.eastmoney_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/api/qt/clist/get?fs=b:BK0596")
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
