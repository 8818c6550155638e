"""A throw-away PostgreSQL server for the tests that need a real one: a fresh cluster in a temporary directory,
listening on a free loopback port, stopped when the session ends.

The Debian server binaries (apt-get install postgresql) are used as they are; initdb refuses to run as root, so
as root the cluster belongs to the `postgres` user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN_DIRS = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (17, 16, 15)]
HOW_TO_GET = "the PostgreSQL server binaries are missing: apt-get install -y postgresql (.ci/run does this)"
# .ci/run sets this: there, missing binaries are a failure, not a skip.
REQUIRED_ENV = "BOARDSYNC_REQUIRE_POSTGRES"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def new_database(self, name: str) -> str:
        """A fresh database on this server (each test its own); returns its DSN."""
        import psycopg2

        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True  # create database cannot run in a transaction (nor under `with conn`)
        try:
            with conn.cursor() as cur:
                cur.execute(f'drop database if exists "{name}"')
                cur.execute(f'create database "{name}"')
        finally:
            conn.close()
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{name}"


def bin_dir() -> Path | None:
    return next((d for d in BIN_DIRS if (d / "initdb").exists()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    binaries = bin_dir()
    if binaries is None:
        if os.environ.get(REQUIRED_ENV):
            pytest.fail(HOW_TO_GET)
        pytest.skip(HOW_TO_GET)
    root = Path(tempfile.mkdtemp(prefix="boardsync-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    password = "pg-test-pw"
    pwfile = root / "pw"
    pwfile.write_text(password)
    if as_user:
        shutil.chown(pwfile, "postgres")
    run = dict(check=True, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    subprocess.run(
        [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "boardsync", "--pwfile", str(pwfile),
         "-A", "scram-sha-256", "--no-sync", "-E", "UTF8"],
        **run,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
         "-w", "-t", str(START_TIMEOUT_S), "start"],
        **run,
    )  # fmt: skip
    try:
        yield Server("127.0.0.1", port, "boardsync", password, "postgres")
    finally:
        subprocess.run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        shutil.rmtree(root, ignore_errors=True)
