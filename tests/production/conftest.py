"""Production mode against a real PostgreSQL server, started once for the session (tests/postgres.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.postgres import Server, running_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    with running_server() as server:
        yield server


@pytest.fixture
def pg_dsn(pg_server: Server, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test, so no test sees another's ledger or runs."""
    return pg_server.new_database("t_" + re.sub(r"\W", "_", request.node.name)[:50].lower())
