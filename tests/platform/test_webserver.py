"""`dagster dev` as a user starts it: the UI serves on loopback, the code location loads, and a run of
board_sync_job launched through the GraphQL API succeeds against the simulator."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from boardsync_dagster.simulator import Simulator
from tests.platform.conftest import SCALE, scaled_settings, today

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 240

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
STATUS = """query Status($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""
FAILURES = """query Logs($id: ID!) { logsForRun(runId: $id) { __typename ... on EventConnection { events {
  __typename ... on ExecutionStepFailureEvent { stepKey error { message } } ... on RunFailureEvent { message } } } } }"""
LOCATION = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    reply = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    reply.raise_for_status()
    return reply.json()["data"]


def wait_until(what: str, timeout_s: float, probe, proc: subprocess.Popen):
    """Probe every half second until it returns a value, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited while waiting for {what}"
        try:
            value = probe()
        except requests.RequestException:
            value = None
        if value:
            return value
        # The server offers no event to wait on: wait on the process instead, which ends the wait if it dies.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.5)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[tuple[str, Simulator, subprocess.Popen]]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy/local/dagster.yaml", home / "dagster.yaml")
    port = free_port()
    with Simulator(profile="calm", scale=SCALE, rng_seed=9, boards_scale=0.03) as sim:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "BOARDSYNC_DB": str(tmp_path / "boardsync.duckdb"),
            "BOARDSYNC_EASTMONEY_URL": sim.eastmoney_url,
            "BOARDSYNC_PROXY_API": sim.vendor_url,
        }
        dagster = Path(sys.executable).parent / "dagster"
        proc = subprocess.Popen(
            [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "dagster_dev.log", "w"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )
        try:
            yield f"http://127.0.0.1:{port}", sim, proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def test_ui_serves_on_loopback_and_a_launched_run_succeeds(dagster_dev):
    url, sim, proc = dagster_dev
    wait_until("the UI", START_TIMEOUT_S, lambda: requests.get(f"{url}/server_info", timeout=5).ok, proc)

    def location_loaded():
        entries = graphql(url, LOCATION)["workspaceOrError"]["locationEntries"]
        entry = next((e for e in entries if e["name"] == "boardsync"), None)
        if entry and entry["locationOrLoadError"]:
            assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
            return True
        return False

    wait_until("the code location", START_TIMEOUT_S, location_loaded, proc)

    params = {
        "selector": {
            "repositoryLocationName": "boardsync",
            "repositoryName": "__repository__",
            "jobName": "board_sync_job",
        },
        "runConfigData": {"resources": {"sync": {"config": scaled_settings()}}},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": today()}]},
    }
    launched = graphql(url, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished():
        status = graphql(url, STATUS, {"id": run_id})["runOrError"]["status"]
        return status if status in {"SUCCESS", "FAILURE", "CANCELED"} else None

    status = wait_until("the run to finish", RUN_TIMEOUT_S, finished, proc)
    failures = [e for e in graphql(url, FAILURES, {"id": run_id})["logsForRun"]["events"] if len(e) > 1]
    assert status == "SUCCESS", failures
    assert sim.stats()["requests"] > 0
