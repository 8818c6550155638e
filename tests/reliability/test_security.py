"""Secrets stay secret, and everything listens on loopback only.

A whole sync runs with recognisable secrets (vendor key, proxy user and password), once as a `boardsync sync`
process recording into a DAGSTER_HOME, once in-process into the same persistent instance with a wrong password
(so the error paths speak too); then every output is searched: stdout, stderr, the Dagster event log (every event
serialised, run config and tags), the DuckDB file (bytes and every text value), every file written (compute logs,
instance storage)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform
from tests.reliability.conftest import SyncProcess, query, sync_args
from tests.reliability.fakes import ScriptedServer

KEY, USER, PASSWORD = "SECRETKEY-7f3a", "PROXYUSER-91c2", "PROXYPASS-e5d8"
SECRETS = (KEY, USER, PASSWORD)
SCALE = 0.05


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} found in {where}"


def test_no_secret_in_any_output_of_a_whole_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    db = tmp_path / "boardsync.duckdb"
    with Simulator(
        profile="seed",
        scale=SCALE,
        seed=61,
        boards_scale=0.05,
        vendor_key=KEY,
        proxy_user=USER,
        proxy_password=PASSWORD,
    ) as sim:
        assert KEY in sim.vendor_url
        env = {"DAGSTER_HOME": str(home), "BOARDSYNC_PROXY_USER": USER, "BOARDSYNC_PROXY_PASSWORD": PASSWORD}
        cli = SyncProcess(tmp_path, [*sync_args(sim, db, SCALE), "--verbose"], env=env).finish()
        assert cli.rc == 0, cli.stderr[-3000:]
        assert_no_secret(cli.stdout, "the CLI's stdout")
        assert_no_secret(cli.stderr, "the CLI's stderr (--verbose: Dagster's whole event log)")

        # In-process, the same persistent instance, a wrong password: 407s, a VendorAuthError, its messages.
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        job = Platform(sim, db, monkeypatch, scale=SCALE)
        monkeypatch.setenv("BOARDSYNC_PROXY_USER", USER)
        monkeypatch.setenv("BOARDSYNC_PROXY_PASSWORD", "wrong-" + PASSWORD)
        with dg.DagsterInstance.get() as instance:
            failed = job.run(instance=instance, members_config={"force": True})
            assert not failed.success
            runs = instance.get_runs()
            assert len(runs) == 2
            for run in runs:
                assert_no_secret(serialize_value(run), f"run {run.run_id} (config, tags)")
                for record in instance.get_records_for_run(run.run_id, limit=100_000).records:
                    assert_no_secret(serialize_value(record.event_log_entry), f"an event of run {run.run_id}")
            for event in failed.all_events:
                assert_no_secret(serialize_value(event), "an in-process event")

    for name in (
        "board_list",
        "board_members",
        "board_sync_status",
        "member_checkpoint",
        "vendor_quota",
        "vendor_calls",
    ):
        for row in query(db, f"select * from raw.{name}"):
            assert_no_secret(" ".join(map(str, row)), f"raw.{name}")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written)
    assert any("storage" in p.parts for p in written), "the instance wrote its storage under DAGSTER_HOME"
    for path in written:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} found in {path.relative_to(tmp_path)}"


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket the process owns, from /proc (no psutil)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            assert len(addr_hex) == width
            if width == 8:
                address = ".".join(str(int(addr_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                address = "ipv6:" + addr_hex
            found.append((address, int(port_hex, 16)))
    return found


def test_everything_listens_on_loopback_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with (
        Simulator(profile="seed", scale=SCALE, seed=62, boards_scale=0.05) as sim,
        ScriptedServer(lambda path, query, n: (200, "")) as fake,
    ):
        # Proxies listen only once issued: take a few, then run a sync so every kind of server is up.
        assert Platform(sim, tmp_path / "boardsync.duckdb", monkeypatch, scale=SCALE).run().success
        sockets = listening_sockets(os.getpid())
        assert len(sockets) >= 3, sockets  # clist, vendor, the fake; proxies while they live
        ports = {port for _, port in sockets}
        assert fake.server.server_address[1] in ports
        not_loopback = [(a, p) for a, p in sockets if not a.startswith("127.")]
        assert not not_loopback, f"listening beyond loopback: {not_loopback}"

    # `boardsync simulate`, the stand-alone simulator, too.
    sim_proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from boardsync_dagster.cli import main; main(['simulate', '--scale', '0.05'])",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sim_proc.stdout.readline().startswith("{")
        sockets = listening_sockets(sim_proc.pid)
        assert len(sockets) >= 2 and all(a.startswith("127.") for a, _ in sockets), sockets
    finally:
        sim_proc.terminate()
        sim_proc.wait(10)
