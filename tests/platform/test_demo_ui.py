"""`boardsync demo --ui`: what `dagster dev` is pointed at, scaled like the demo, with a week of partitions."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from boardsync_dagster.commands import demo
from boardsync_dagster.engine.clock import SHANGHAI
from tests.platform.test_webserver import START_TIMEOUT_S, free_port, graphql, wait_until

PROBE = """
import json
from boardsync_dagster.demo_ui import defs
from boardsync_dagster.partitions import DAILY
sync = defs.resources["sync"]
print(json.dumps({
    "first_partition": DAILY.get_first_partition_key(),
    "req_delay_max": sync.req_delay_max,
    "time_scale": sync.time_scale,
    "ip_ttl": sync.ip_ttl,
}))
"""


def test_the_ui_runs_the_demo_scaled_sync_from_a_week_ago(tmp_path):
    args = argparse.Namespace(db=str(tmp_path / "demo.duckdb"), scale=0.1)
    env = demo.ui_environment(args, "http://127.0.0.1:1/api", "http://127.0.0.1:2/get?key=sim&num=1")
    week_ago = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=demo.UI_DAYS - 1)
    assert env["BOARDSYNC_FIRST_DAY"] == week_ago.isoformat()
    assert env["BOARDSYNC_DB"] == str(tmp_path / "demo.duckdb")

    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    scaled = demo.scaled_settings(0.1)
    assert seen == {
        "first_partition": week_ago.isoformat(),
        "req_delay_max": scaled["req_delay_max"],
        "time_scale": 0.1,
        "ip_ttl": scaled["ip_ttl"],
    }


PARTITIONS = """{ partitionSetsOrError(repositorySelector: {repositoryName: "__repository__",
  repositoryLocationName: "boardsync_dagster.demo_ui"}, pipelineName: "board_sync_job") {
  ... on PartitionSets { results { partitionsOrError { ... on Partitions { results { name } } } } } } }"""


def test_demo_ui_serves_a_week_of_partitions_and_stops_on_sigterm(tmp_path):
    port = free_port()
    command = [str(Path(sys.executable).with_name("boardsync")), "demo", "--ui", "--port", str(port)]
    env = {**os.environ, "DAGSTER_HOME": ""}  # the demo sets its own home
    proc = subprocess.Popen([*command, "--db", str(tmp_path / "demo.duckdb")], env=env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"

        def partitions():
            (found,) = graphql(url, PARTITIONS)["partitionSetsOrError"]["results"]
            return [p["name"] for p in found["partitionsOrError"]["results"]]

        names = wait_until("the demo's partitions", START_TIMEOUT_S, partitions, proc)
        today = dt.datetime.now(SHANGHAI).date()
        assert names == [(today - dt.timedelta(days=n)).isoformat() for n in reversed(range(demo.UI_DAYS))]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=3 * demo.STOP_WAIT_S + 10) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/server_info", timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
