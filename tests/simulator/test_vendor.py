"""The extraction API in every format: proxies out, and each refusal in the format's own words."""

from datetime import datetime, timedelta, timezone

import pytest
import requests

from boardsync_dagster.simulator import Profile, Simulator, dataset
from boardsync_dagster.simulator.proxies import ProxyInfo
from boardsync_dagster.simulator.runtime import Runtime
from boardsync_dagster.simulator.vendor import Vendor
from tests.simulator.conftest import MakeSim, clist, members_params

FORMATS = ("text", "zhima", "kuaidaili")
BEIJING = timezone(timedelta(hours=8))


def extract(sim: Simulator, url: str | None = None) -> tuple[list[str], requests.Response]:
    """(ip:port list, reply) in any format; the list is empty when the vendor refused."""
    reply = requests.get(url or sim.vendor_url, timeout=5)
    if reply.headers["Content-Type"].startswith("text/plain"):
        text = reply.text.strip()
        return ([line for line in text.split("\r\n")] if text[:1].isdigit() else []), reply
    body = reply.json()
    if body["code"] != 0:
        return [], reply
    if isinstance(body["data"], list):
        return [f"{d['ip']}:{d['port']}" for d in body["data"]], reply
    return [p.split(",")[0] for p in body["data"]["proxy_list"]], reply


def refusal(reply: requests.Response) -> str | int:
    """The text of a text-format refusal, or the JSON code."""
    return reply.text if reply.headers["Content-Type"].startswith("text/plain") else reply.json()["code"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_issued_proxies_work_in_every_format(make_sim: MakeSim, fmt: str) -> None:
    sim = make_sim(vendor_format=fmt, scale=1.0, ip_ttl=60.0)
    proxies, reply = extract(sim, sim.vendor_url.replace("num=1", "num=2"))
    assert len(proxies) == 2 and proxies[0] != proxies[1]
    for proxy in proxies:
        ip = proxy.split(":")[0]
        assert ip.startswith("127.") and ip != "127.0.0.1"
        assert clist(sim, proxy=proxy, **members_params("BK0596")).json()["data"]["total"] > 0
    if fmt == "zhima":
        body = reply.json()
        assert body["success"] is True
        expires = datetime.strptime(body["data"][0]["expire_time"], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=BEIJING
        )
        assert 55 <= (expires - datetime.now(BEIJING)).total_seconds() <= 61
    if fmt == "kuaidaili":
        data = reply.json()["data"]
        assert data["count"] == 2
        assert all(58 <= int(p.split(",")[1]) <= 60 for p in data["proxy_list"])
    assert sim.stats()["vendor_calls"] == 1 and sim.stats()["vendor_ips_today"] == 2


TOO_FAST = {"text": "请2秒后再试", "zhima": 111, "kuaidaili": -51}
QUOTA = {"text": "今日提取数量已用完", "zhima": 121, "kuaidaili": -5}
BAD_KEY = {"text": "key错误或已失效", "zhima": 117, "kuaidaili": -1}
WHITELIST = {"text": "请将127.0.0.1添加到白名单", "zhima": 113, "kuaidaili": -10}


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_fast_is_refused_in_the_formats_own_way(make_sim: MakeSim, fmt: str) -> None:
    sim = make_sim(vendor_format=fmt, scale=1.0, min_interval=2.0)
    assert extract(sim)[0]
    proxies, reply = extract(sim)
    assert not proxies and refusal(reply) == TOO_FAST[fmt]
    assert sim.stats()["vendor_refusals"] == {"too_fast": 1}


class _Fleet:
    def issue(self, quality: str, ttl: float, refuses: bool = False) -> ProxyInfo:
        return ProxyInfo("127.1.0.1", 4000, quality, ttl, ttl)


def test_min_interval_is_scaled_and_every_call_restarts_it() -> None:
    now = [100.0]
    runtime = Runtime(Profile(), scale=0.01, seed=0, state=dataset.generate(boards_scale=0.05))
    vendor = Vendor(runtime, _Fleet(), "text", "k", 10, 20.0, 60.0, clock=lambda: now[0])  # type: ignore[arg-type]

    def call_at(t: float) -> bytes:
        now[0] = 100.0 + t
        return vendor.extract("k", 1, "127.0.0.1")[2]

    assert call_at(0.0) == b"127.1.0.1:4000"
    assert call_at(0.19).decode() == "请20秒后再试"  # 20 simulated s = 0.2 real s
    assert call_at(0.38).decode() == "请20秒后再试"  # 0.19 after the refused call: still too fast
    assert call_at(0.59) == b"127.1.0.1:4000"
    assert runtime.stats.snapshot()["refusals"] == {"too_fast": 2}


@pytest.mark.parametrize("fmt", FORMATS)
def test_daily_quota(make_sim: MakeSim, fmt: str) -> None:
    sim = make_sim(vendor_format=fmt, quota=2, min_interval=0)
    assert len(extract(sim)[0]) == 1 and len(extract(sim)[0]) == 1
    proxies, reply = extract(sim)
    assert not proxies and refusal(reply) == QUOTA[fmt]
    sim.new_vendor_day()
    assert len(extract(sim)[0]) == 1
    assert sim.stats()["vendor_refusals"] == {"quota": 1}


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_key_and_whitelist(make_sim: MakeSim, fmt: str) -> None:
    sim = make_sim(vendor_format=fmt, min_interval=0)
    proxies, reply = extract(sim, sim.vendor_url.replace("key=sim-key", "key=wrong"))
    assert not proxies and refusal(reply) == BAD_KEY[fmt]
    sim.vendor_fault("bad_key")
    assert refusal(extract(sim)[1]) == BAD_KEY[fmt]
    sim.vendor_fault("whitelist")
    assert refusal(extract(sim)[1]) == WHITELIST[fmt]
    sim.vendor_fault(None)
    assert extract(sim)[0]
    assert sim.stats()["vendor_refusals"] == {"bad_key": 2, "whitelist": 1}
    assert sim.stats()["vendor_ips_today"] == 1


def test_vendor_down_is_a_5xx(sim: Simulator) -> None:
    sim.vendor_fault("down")
    assert requests.get(sim.vendor_url, timeout=5).status_code == 503
    sim.vendor_fault(None)
    assert extract(sim)[0]


@pytest.mark.parametrize(("auth", "status"), [("", 407), ("u:wrong@", 407), ("u:p@", 200)])
def test_proxy_auth(make_sim: MakeSim, auth: str, status: int) -> None:
    sim = make_sim(proxy_user="u", proxy_password="p")
    proxy = extract(sim)[0][0]
    reply = clist(sim, proxy=auth + proxy, **members_params("BK0596"))
    assert reply.status_code == status
    if status == 407:
        assert reply.headers["Proxy-Authenticate"].startswith("Basic")
        assert sim.stats()["proxies"]["auth_failed"] == 1


def test_dead_proxies_refuse_or_drop_every_request(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(dead_ip=1.0), min_interval=0)
    for _ in range(6):
        proxy = extract(sim)[0][0]
        for _ in range(2):
            with pytest.raises(requests.ConnectionError):
                clist(sim, proxy=proxy, **members_params("BK0596"))
    assert sim.stats()["ips_issued"] == {"dead": 6}
    assert sim.stats()["requests"] == 0


def test_flaky_proxies_drop_their_share(make_sim: MakeSim) -> None:
    sim = make_sim(profile=Profile(flaky_ip=1.0, flaky_fail=0.5), ip_ttl=6000.0)
    proxy = extract(sim)[0][0]
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(clist(sim, proxy=proxy, **members_params("BK0596")).status_code == 200)
        except requests.ConnectionError:
            outcomes.append(False)
    assert 5 <= outcomes.count(False) <= 35
    assert sim.stats()["ips_issued"] == {"flaky": 1}
    assert sim.stats()["proxies"]["dropped_flaky"] == outcomes.count(False)
