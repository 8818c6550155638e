"""A fixed proxy given as vendors hand it out (issue 11.1): read right, and never echoed when it cannot be read."""

from __future__ import annotations

import pytest
import requests

from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.errors import ConfigError
from boardsync_dagster.engine.fetcher import fetch_board_list
from boardsync_dagster.engine.masking import mask_url
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.simulator import Simulator

USER = "alice-7q"
# Every character urlsplit trips on, and a '%' that is no escape.
PASSWORD = "s3cr/et@PW:9%zz"
QUOTED = "s3cr%2Fet%40PW%3A9%25zz"


def pieces(secret: str, size: int = 4) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("alice:s3cretPW@127.0.0.1:8080", "http://alice:s3cretPW@127.0.0.1:8080"),
        (f"{USER}:{PASSWORD}@127.0.0.1:8080", f"http://{USER}:{QUOTED}@127.0.0.1:8080"),
        (f"http://{USER}:{PASSWORD}@proxy.example:3128/", f"http://{USER}:{QUOTED}@proxy.example:3128"),
        (f"https://{USER}:{QUOTED}@10.1.2.3:443", f"https://{USER}:{QUOTED}@10.1.2.3:443"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_vendor_shapes_are_accepted_and_credentials_quoted(given: str, expected: str):
    settings = ProxySettings(proxy_url=given).validate()
    assert settings.proxy_url == expected
    manager = ProxyManager(ProxySettings(proxy_url=given), SyncConfig())
    assert manager.acquire().proxies == {"http": expected, "https": expected}


@pytest.mark.parametrize(
    "given",
    [
        f"{USER}:{PASSWORD}@127.0.0.1:80x80",  # a port that is no number: urlsplit's error quoted the value
        f"{USER}:{PASSWORD}@127.0.0.1",  # no port
        f"{USER}:{PASSWORD}@",  # no host
        f"socks9://{USER}:{PASSWORD}@127.0.0.1:1080",
        f":{PASSWORD}@127.0.0.1:8080",  # no user
        f"{USER}:{PASSWORD}@127.0.0.1:8080/some/path",
    ],
)
def test_an_unreadable_proxy_url_is_refused_naming_the_field_and_no_part_of_it(given: str):
    with pytest.raises(ConfigError) as info:
        ProxySettings(proxy_url=given).validate()
    message = str(info.value)
    assert message.startswith("ProxySettings.proxy_url: ") and "[http://][user:password@]host:port" in message
    shown = message + repr(ProxySettings(proxy_url=given)) + mask_url(given)
    leaked = {p for p in pieces(PASSWORD) | pieces(QUOTED) | {USER} if p in shown}
    assert not leaked, f"{leaked} shown in {shown!r}"


def test_the_vendor_url_refused_without_its_key():
    with pytest.raises(ConfigError, match="proxy_api") as info:
        ProxySettings(proxy_api="vendor.example/get?key=K3Y-abcdef:99999999").validate()
    assert "K3Y-" not in str(info.value) and "abcdef" not in str(info.value)


def test_a_password_with_every_awkward_character_reaches_the_real_proxy():
    """The simulator's proxy answers 407 unless Proxy-Authorization carries exactly this user and password."""
    with Simulator(
        profile="calm",
        scale=0.05,
        rng_seed=3,
        boards_scale=0.05,
        proxy_user=USER,
        proxy_password=PASSWORD,
        ip_ttl=600,
    ) as sim:
        address = requests.get(sim.vendor_url, timeout=5).text.strip()
        config = SyncConfig(rng_seed=3).scaled(0.05)
        manager = ProxyManager(ProxySettings(proxy_url=f"{USER}:{PASSWORD}@{address}"), config)
        listed = fetch_board_list(EastmoneyClient(sim.eastmoney_url, config.timeout), manager, config)
        assert listed.complete, listed.error
        stats = sim.stats()["proxies"]
        assert stats.get("auth_failed", 0) == 0 and stats["forwarded"] > 0
