"""A team-server deployment on this machine: deploy/production/dagster.yaml on a real PostgreSQL database, a code
server (`dagster api grpc`), a `dagster-daemon`, and runs launched with `dagster job launch` against the simulator.
Every process is started here and stopped by close(); every wait is bounded."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from boardsync_dagster.simulator import Simulator
from tests.postgres import free_port
from tests.reliability.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_YAML = ROOT / "deploy" / "production" / "dagster.yaml"
BIN = Path(sys.executable).parent
# Dagster and dbt imports take ~10 s per process on a loaded 2-core machine.
START_S = 120.0
STOP_S = 30.0


class Deployment:
    def __init__(
        self, workdir: Path, pg_dsn: str, sim: Simulator, monitoring_poll_s: int, partition_limit: bool = True
    ) -> None:
        self.workdir, self.sim = workdir, sim
        self.home = workdir / "dagster_home"
        self.home.mkdir()
        config = yaml.safe_load(PRODUCTION_YAML.read_text())
        # The one change to the production file: a kill is noticed within seconds instead of a minute.
        config["run_monitoring"]["poll_interval_seconds"] = monitoring_poll_s
        if not partition_limit:  # to see the pool alone hold a second run's fetch steps
            del config["concurrency"]["runs"]["tag_concurrency_limits"]
        (self.home / "dagster.yaml").write_text(yaml.safe_dump(config))
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOARDSYNC_", "DAGSTER_"))}
        self.env = {
            **clean,
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_PG_URL": dagster_url(pg_dsn),
            "BOARDSYNC_DB": str(workdir / "boardsync.duckdb"),
            "BOARDSYNC_EASTMONEY_URL": sim.eastmoney_url,
            "BOARDSYNC_PROXY_API": sim.vendor_url,
        }
        self.procs: list[subprocess.Popen] = []
        self.run(["dagster", "instance", "migrate"])
        port = free_port()
        self.code_server = self.start(
            "code-server",
            [
                "dagster",
                "api",
                "grpc",
                "-m",
                "boardsync_dagster.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
        )
        healthy = ["dagster", "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(port)]
        assert wait_until(
            lambda: self.run(healthy, check=False).returncode == 0,
            START_S,
            proc=self.code_server,
            interval=1.0,
        ), self.log("code-server")
        self.workspace = workdir / "workspace.yaml"
        self.workspace.write_text(
            yaml.safe_dump(
                {
                    "load_from": [
                        {"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": "boardsync"}}
                    ]
                }
            )
        )
        self.daemon = self.start("daemon", ["dagster-daemon", "run", "-w", str(self.workspace)])

    def instance(self) -> dg.DagsterInstance:
        """The instance as the daemon sees it (the test process must have DAGSTER_PG_URL set)."""
        return dg.DagsterInstance.from_config(str(self.home))

    def run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=START_S,
        )
        assert not check or done.returncode == 0, f"{argv}: {done.stderr[-3000:]}"
        return done

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        with open(self.workdir / f"{name}.log", "w") as log:
            proc = subprocess.Popen(
                [str(BIN / argv[0]), *argv[1:]],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its run workers too are stopped with the group
            )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-4000:]

    def launch(self, run_config: dict, partition: str, count: int) -> None:
        """`count` runs of board_sync_job for the partition, submitted at once (each launch its own process)."""
        argv = [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-w",
            str(self.workspace),
            "-j",
            "board_sync_job",
            "--config-json",
            json.dumps(run_config),
            "--tags",
            json.dumps({"dagster/partition": partition}),
        ]
        launches = [
            subprocess.Popen(
                argv, env=self.env, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(count)
        ]
        for proc in launches:
            out, err = proc.communicate(timeout=START_S)
            assert proc.returncode == 0, err.decode(errors="replace")[-3000:]

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_S)


def dagster_url(dsn: str) -> str:
    """The storage URL as deploy/production/dagster.yaml wants it: with SQLAlchemy's psycopg2 driver named."""
    return dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
