"""The issued proxies as real forward proxies: their own source address, their TTL, their clean-up."""

import socket
import threading
import time

import pytest
import requests

from boardsync_dagster.simulator import Profile, Simulator, dataset
from boardsync_dagster.simulator.proxies import GOOD, ProxyFleet
from boardsync_dagster.simulator.runtime import Runtime
from tests.simulator.conftest import MakeSim, clist, finishes, members_params, take_proxy


def refused(proxy: str) -> bool:
    host, port = proxy.split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_each_proxy_has_its_own_loopback_address_which_the_server_sees(make_sim: MakeSim) -> None:
    sim = make_sim(min_interval=0)
    proxies = [take_proxy(sim) for _ in range(5)]
    ips = [p.split(":")[0] for p in proxies]
    assert len(set(ips)) == 5
    assert all(ip.startswith("127.") and not ip.startswith("127.0.") for ip in ips)
    for proxy in proxies:
        assert clist(sim, proxy=proxy, **members_params("BK0596")).status_code == 200
    assert sim.stats()["sources"] == dict.fromkeys(ips, 1)


def test_proxy_relays_the_reply_unchanged(sim: Simulator) -> None:
    proxy = take_proxy(sim)
    params = members_params("BK0596", pn=2)
    direct, relayed = clist(sim, **params), clist(sim, proxy=proxy, **params)
    assert relayed.content == direct.content
    assert relayed.headers["Content-Type"] == direct.headers["Content-Type"]


def test_proxy_refuses_non_loopback_targets(sim: Simulator) -> None:
    proxy = take_proxy(sim)
    reply = requests.get("http://push2.eastmoney.com/api/qt/clist/get", proxies={"http": proxy}, timeout=5)
    assert reply.status_code == 502


def test_ttl_scaled_proxy_dies_on_time_and_resets_open_connections(make_sim: MakeSim) -> None:
    sim = make_sim(scale=0.01, ip_ttl=60.0)  # lives 0.6 s
    issued_at = time.monotonic()
    proxy = take_proxy(sim)
    session = requests.Session()  # keeps its connection to the proxy open
    session.proxies = {"http": f"http://{proxy}"}
    url = sim.clist_url
    assert session.get(url, params=members_params("BK0596"), timeout=5).status_code == 200
    # Nothing to wait on from outside: poll against a deadline until the proxy stops listening.
    for _ in range(3000):  # bounded by count (~60 s): nothing to wait on from outside
        if refused(proxy):
            break
        threading.Event().wait(0.02)
    else:
        pytest.fail("proxy outlived its TTL")
    # Not before its TTL: a lower bound cannot flake on a slow machine, only an upper one can.
    lived = time.monotonic() - issued_at
    assert lived >= 0.55
    with pytest.raises(requests.ConnectionError):
        session.get(url, params=members_params("BK0596"), timeout=5)
    assert sim.stats()["proxies"]["expired"] == 1 and sim.stats()["proxies"]["live"] == 0


def test_dead_proxies_release_their_threads(make_sim: MakeSim) -> None:
    sim = make_sim(scale=0.001, ip_ttl=500.0, min_interval=0, quota=1000)  # 0.5 s each
    baseline = threading.active_count()
    proxies = [take_proxy(sim) for _ in range(40)]
    sessions = []  # left open: their keep-alive connections hold a proxy thread each until the proxy dies
    for proxy in proxies[:20]:
        session = requests.Session()
        session.proxies = {"http": f"http://{proxy}"}
        sessions.append(session)
        session.get(sim.clist_url, params=members_params("BK0596"), timeout=5)
    assert threading.active_count() >= baseline + 20
    for _ in range(3000):  # bounded by count (~60 s)
        if not sim.stats()["proxies"]["live"] and threading.active_count() <= baseline + 2:
            break
        threading.Event().wait(0.02)
    else:
        pytest.fail(f"{sim.stats()['proxies']}, {threading.active_count()} threads, baseline {baseline}")
    assert all(refused(p) for p in proxies)


def test_stop_shuts_every_proxy_down(make_sim: MakeSim) -> None:
    sim = make_sim(min_interval=0, scale=1.0)
    proxies = [take_proxy(sim) for _ in range(3)]
    session = requests.Session()
    session.proxies = {"http": f"http://{proxies[0]}"}
    assert session.get(sim.clist_url, params=members_params("BK0596")).ok
    assert finishes(sim.stop)  # an open keep-alive connection does not hold stop() up
    assert all(refused(p) for p in proxies)
    assert refused(sim.eastmoney_url.removeprefix("http://"))
    assert refused(sim.vendor_url.removeprefix("http://").split("/")[0])


def test_a_proxy_issued_after_stop_does_not_listen() -> None:
    # A vendor handler still running when the simulator stops can issue one more proxy: it must not outlive stop().
    state = dataset.generate(boards_scale=0.05)
    fleet = ProxyFleet(Runtime(Profile(), scale=1.0, seed=0, state=state), ("127.0.0.1", 9), None)
    fleet.start()
    fleet.stop()
    info = fleet.issue(GOOD, 60.0)
    assert refused(f"{info.ip}:{info.port}")
    assert fleet.live() == 0
