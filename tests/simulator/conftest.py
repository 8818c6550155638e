"""A started Simulator per test, small data and fast time by default; helpers to talk to it like a client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import requests

from boardsync_dagster.simulator import Simulator

MakeSim = Callable[..., Simulator]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    started: list[Simulator] = []

    def make(**kwargs) -> Simulator:
        kwargs.setdefault("boards_scale", 0.05)
        kwargs.setdefault("scale", 0.01)
        sim = Simulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: MakeSim) -> Simulator:
    return make_sim()


def clist(sim: Simulator, proxy: str | None = None, timeout: float = 5.0, **params) -> requests.Response:
    proxies = {"http": f"http://{proxy}"} if proxy else None
    return requests.get(sim.clist_url, params=params, proxies=proxies, timeout=timeout)


def members_params(board: str, pn: int = 1, **extra) -> dict:
    params = {"fs": f"b:{board} f:!50", "pn": pn, "pz": 100, "po": 0, "np": 1, "fltt": 2, "fid": "f12"}
    params["fields"] = "f12,f13,f14"
    return {**params, **extra}


def take_proxy(sim: Simulator, url: str | None = None) -> str:
    """One ip:port from a text-format vendor."""
    reply = requests.get(url or sim.vendor_url, timeout=5)
    reply.raise_for_status()
    proxy = reply.text.strip()
    assert proxy.count(":") == 1, proxy
    return proxy


def finishes(call: Callable[[], object], within_s: float = 60.0) -> bool:
    """Run call in a thread; True once it has returned. within_s bounds a hang, it is not a speed requirement."""
    done = threading.Event()
    threading.Thread(target=lambda: (call(), done.set()), daemon=True).start()
    return done.wait(within_s)
