"""One simulated history per world, built once per session and shared by the API and CLI tests."""

from __future__ import annotations

import pytest

from tests.query.world import World, build


@pytest.fixture(scope="session", params=["classic", "levels2026"])
def world(request, tmp_path_factory) -> World:
    return build(request.param, tmp_path_factory.mktemp(request.param))
