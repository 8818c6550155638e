"""Secrets stay secret, and everything listens on loopback only.

Whole syncs run with recognisable secrets (vendor key, proxy user, a password holding `/ @ : %`): `boardsync
sync` processes recording into one DAGSTER_HOME (vendor mode with dbt, a fixed proxy given as
`user:password@host:port`, a fixed proxy URL it cannot read), then an in-process run into the same instance with
a wrong password (so the error paths speak too). Every output is searched for every form of every secret, whole
and in part (any 4-character piece with a letter in it, the URL-quoted password, the Basic-auth header): stdout,
stderr, the Dagster event log and run storage (every event serialised, run config, tags), the DuckDB file (bytes
and every value), every file written under DAGSTER_HOME (compute logs, instance storage), and what dbt wrote to
target/ and logs/.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest
import requests
from dagster._serdes import serialize_value
from dagster_graphql.test.utils import (
    define_out_of_process_context,
    execute_dagster_graphql,
    main_repo_location_name,
)

from boardsync_dagster.dbt_project import DBT_PROJECT_DIR
from boardsync_dagster.definitions import defs
from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform
from tests.platform.test_webserver import LAUNCH  # the launchpad's mutation, as the UI sends it
from tests.reliability.conftest import SyncProcess, cli_flags, knobs, query, sync_args
from tests.reliability.fakes import ScriptedServer

SCALE = 0.05

# Mixed case, digits and punctuation in every 4-character window, so a piece found is a leak, not chance.
KEY, USER = "Kx7Qv2Zr9Wm4", "uJ3xQ8wZ"
AWKWARD = "pW/7@Qz:9%Kd"  # every character a URL parser trips on, and a '%' that is no escape
SECRETS = (KEY, USER, AWKWARD)
PIECE = 4


def secret_forms() -> set[str]:
    """Every secret whole and quoted, every 4-character piece of each with a letter in it, and the
    Proxy-Authorization value. The quoted password has two pieces of digits and '%' only ('7%40', '9%25'): in a
    SQLite file a record's header bytes for two text columns of lengths 22 and 12 read '9%', and a run id after
    them beginning '25' made '9%25' (CI, a run failed by a 407: one run id in 256). Every other piece of the
    quoted form still finds it."""
    quoted = quote(AWKWARD, safe="")
    wholes = {*SECRETS, quoted, base64.b64encode(f"{USER}:{AWKWARD}".encode()).decode()}
    pieces = {w[i : i + PIECE] for w in (*SECRETS, quoted) for i in range(len(w) - PIECE + 1)}
    return wholes | {p for p in pieces if any(c.isalpha() for c in p)}


FORMS = secret_forms()


def assert_no_secret_piece(text: str, where: str) -> None:
    found = sorted(f for f in FORMS if f in text)
    assert not found, f"secret {found} found in {where}"


def assert_no_secret_in_files(root: Path, since: float = 0.0) -> int:
    """Every file under root (written at or after `since`), as bytes. Returns how many were read."""
    files = [p for p in root.rglob("*") if p.is_file() and p.stat().st_mtime >= since]
    for path in files:
        data = path.read_bytes()
        found = sorted(f for f in FORMS if f.encode() in data)
        assert not found, f"secret {found} found in {path}"
    return len(files)


def test_no_secret_in_any_output_of_a_whole_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    started = time.time()
    home = tmp_path / "dagster_home"
    home.mkdir()
    db = tmp_path / "boardsync.duckdb"
    with Simulator(
        profile="typical",
        ban_rule="none",  # the fixed proxy below lives 6000 s: no ban can outlast it, and none is wanted here
        scale=SCALE,
        rng_seed=61,
        boards_scale=0.05,
        vendor_key=KEY,
        proxy_user=USER,
        proxy_password=AWKWARD,
        ip_ttl=6000,  # a fixed proxy below outlives the process start-up
    ) as sim:
        assert KEY in sim.vendor_url
        env = {"DAGSTER_HOME": str(home), "BOARDSYNC_PROXY_USER": USER, "BOARDSYNC_PROXY_PASSWORD": AWKWARD}
        vendor = SyncProcess(
            tmp_path, [*sync_args(sim, db, SCALE), "--verbose"], env=env, name="vendor", dbt=True, sim=sim
        )
        runs = [("vendor mode with dbt", vendor.finish())]
        assert runs[-1][1].rc == 0, runs[-1][1].stderr[-3000:]

        # A fixed proxy as vendors hand it out: user:password@host:port, no scheme. Calm from here: a fixed IP
        # cannot be swapped, so it must be a good one and Eastmoney must not drop it.
        sim.set_profile("calm")
        address = requests.get(sim.vendor_url, timeout=5).text.strip()
        fixed_env = {"DAGSTER_HOME": str(home), "BOARDSYNC_PROXY_URL": f"{USER}:{AWKWARD}@{address}"}
        plain = [
            "--database",
            str(db),
            "--eastmoney-url",
            sim.eastmoney_url,
            *cli_flags(knobs(SCALE)),
            "--force",
        ]
        fixed = SyncProcess(tmp_path, [*plain, "--verbose"], env=fixed_env, name="fixed").finish()
        runs.append(("a fixed proxy user:password@host:port", fixed))
        assert fixed.rc == 0, fixed.stderr[-3000:]

        # One it cannot read (the port is no number): refused at launch, naming the variable, echoing nothing.
        unreadable = {**fixed_env, "BOARDSYNC_PROXY_URL": f"{USER}:{AWKWARD}@{address}x"}
        bad = SyncProcess(tmp_path, plain, env=unreadable, name="unreadable").finish()
        runs.append(("an unreadable proxy URL", bad))
        assert bad.rc == 2 and "BOARDSYNC_PROXY_URL" in bad.stderr, bad.stderr[-3000:]

        for what, run in runs:
            assert_no_secret_piece(run.stdout, f"the CLI's stdout ({what})")
            assert_no_secret_piece(run.stderr, f"the CLI's stderr ({what}; --verbose: Dagster's event log)")

        # In-process, the same persistent instance, a wrong password: 407s, a VendorAuthError, its messages.
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        job = Platform(sim, db, monkeypatch, scale=SCALE)
        monkeypatch.setenv("BOARDSYNC_PROXY_USER", USER)
        monkeypatch.setenv("BOARDSYNC_PROXY_PASSWORD", "wrong-" + AWKWARD[::-1])
        with dg.DagsterInstance.get() as instance:
            failed = job.run(instance=instance, force=True)
            assert not failed.success
            stored = instance.get_runs()
            assert len(stored) == 3  # the unreadable URL was refused before a run existed
            for run in stored:
                assert_no_secret_piece(serialize_value(run), f"run {run.run_id} (config, tags)")
                for record in instance.get_records_for_run(run.run_id, limit=100_000).records:
                    assert_no_secret_piece(
                        serialize_value(record.event_log_entry), f"an event of run {run.run_id}"
                    )
            for event in failed.all_events:
                assert_no_secret_piece(serialize_value(event), "an in-process event")

    for name in (
        "board_list",
        "board_members",
        "board_sync_status",
        "member_checkpoint",
        "vendor_quota",
        "vendor_calls",
    ):
        for row in query(db, f"select * from raw.{name}"):
            assert_no_secret_piece(" ".join(map(str, row)), f"raw.{name}")
    assert query(db, "select count(*) from marts.board_membership_current")[0][0] > 0, "dbt ran"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written)
    assert any("storage" in p.parts for p in written), "the instance wrote its storage under DAGSTER_HOME"
    assert any("compute_logs" in p.parts or "logs" in p.parts for p in written), "compute logs were written"
    assert_no_secret_in_files(tmp_path)
    # dbt's own outputs: target/ (run results, manifests, its log) and logs/, as written by this test's run.
    assert assert_no_secret_in_files(DBT_PROJECT_DIR / "target", since=started) > 0, "dbt wrote its target/"
    if (DBT_PROJECT_DIR / "logs").exists():
        assert_no_secret_in_files(DBT_PROJECT_DIR / "logs", since=started)


LAUNCHPAD_SECRETS = {
    "proxy_api": f"http://vendor.example/get?key={KEY}",
    "proxy_url": f"{USER}:{AWKWARD}@127.0.0.1:3128",
    "user": USER,
    "password": AWKWARD,
}


def test_secrets_typed_into_the_launchpad_are_refused_before_a_run_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The launchpad's own mutation, against the code location as `dagster dev` loads it (a code server process).

    The secrets are no config fields (they are read from BOARDSYNC_PROXY_* at run time), so Dagster refuses the
    run config while validating it: no run, and nothing of the secret anywhere in the instance's storage.
    """
    # Should a run start after all, it must stop at once, offline: a past day and no reachable Eastmoney.
    monkeypatch.setenv("BOARDSYNC_EASTMONEY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("BOARDSYNC_DB", str(tmp_path / "boardsync.duckdb"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (tmp_path / "in_process").mkdir()
    definitions = str(Path(__file__).resolve().parents[2] / "boardsync_dagster" / "definitions.py")
    with (
        dg.instance_for_test(temp_dir=str(home)) as instance,
        define_out_of_process_context(definitions, "defs", instance) as context,
    ):
        for field, value in LAUNCHPAD_SECRETS.items():
            params = {
                "selector": {
                    "repositoryLocationName": main_repo_location_name(),
                    "repositoryName": "__repository__",
                    "jobName": "board_sync_job",
                },
                "runConfigData": {"resources": {"sync": {"config": {field: value, "max_ips": 5}}}},
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2025-12-01"}]},
            }
            launched = execute_dagster_graphql(context, LAUNCH, {"params": params}).data["launchRun"]
            assert launched["__typename"] == "RunConfigValidationInvalid", launched
            message = " ".join(e["message"] for e in launched["errors"])
            assert f'unexpected config entry "{field}"' in message, message
            assert_no_secret_piece(message, f"the launchpad's error for {field}")
        assert instance.get_runs() == []

    # The in-process path refuses it the same way, before a run exists.
    job = defs.resolve_job_def("board_sync_job")
    with dg.instance_for_test(temp_dir=str(tmp_path / "in_process")) as instance:
        with pytest.raises(dg.DagsterInvalidConfigError, match='unexpected config entry "password"'):
            job.execute_in_process(
                run_config={"resources": {"sync": {"config": {"password": AWKWARD}}}},
                instance=instance,
                partition_key="2025-12-01",
            )
        assert instance.get_runs() == []
    assert_no_secret_in_files(tmp_path)


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
        Simulator(profile="typical", scale=SCALE, rng_seed=62, boards_scale=0.05) as sim,
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
