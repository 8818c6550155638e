"""`boardsync simulate` as a process: one JSON line, serves, stops cleanly on SIGTERM or SIGINT."""

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_simulate_prints_urls_serves_and_stops_on_signal(signum: int) -> None:
    command = [
        sys.executable,
        "-m",
        "boardsync_dagster.cli",
        "simulate",
        "--scale",
        "0.01",
        "--boards-scale",
        "0.05",
    ]
    command += [
        "--profile",
        "calm",
        "--vendor-format",
        "zhima",
        "--rng-seed",
        "3",
        "--ban-rule",
        "w30-10s-403",
    ]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            urls = json.loads(process.stdout.readline())
            assert set(urls) == {"eastmoney_url", "vendor_url", "stats_url"}
            issued = requests.get(urls["vendor_url"], timeout=5).json()["data"][0]
            proxy = f"{issued['ip']}:{issued['port']}"
            params = {"fs": "m:90 t:3 f:!50", "pz": 5, "np": 1, "fields": "f12,f14"}
            reply = requests.get(
                urls["eastmoney_url"] + "/api/qt/clist/get", params=params, proxies={"http": proxy}, timeout=5
            )
            assert reply.json()["data"]["total"] == 22
            stats = requests.get(urls["stats_url"], timeout=5).json()
            assert stats["requests"] == 1 and stats["sources"] == {issued["ip"]: 1}
            assert stats["ban_rule"] == "w30-10s-403" and stats["profile"] == "calm"
            process.send_signal(signum)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((issued["ip"], issued["port"]), timeout=1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(tuple(urls["eastmoney_url"].removeprefix("http://").split(":")), timeout=1)
