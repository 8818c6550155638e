"""The Definitions `boardsync demo --ui` serves: the project's own, every duration scaled like the demo's
(BOARDSYNC_DEMO_SCALE, default 0.2), so "Materialize" in the UI runs the seed's sync in about a minute against
the simulator the demo started (its URLs and the demo's file arrive as the usual environment variables).

A code location module of the demo only: the scale is read once, when `dagster dev` loads it."""

from __future__ import annotations

import os

from boardsync_dagster.commands.demo import DEFAULT_SCALE, scaled_settings
from boardsync_dagster.definitions import build_definitions
from boardsync_dagster.resources import SyncResource

defs = build_definitions(
    SyncResource(**scaled_settings(float(os.environ.get("BOARDSYNC_DEMO_SCALE", DEFAULT_SCALE))))
)
