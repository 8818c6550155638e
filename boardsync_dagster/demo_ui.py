"""The Definitions `boardsync demo --ui` serves: the project's own, every duration scaled like the demo's
(BOARDSYNC_DEMO_SCALE, default 0.2), so "Materialize" in the UI runs the seed's sync in about a minute against
the simulator the demo started (its URLs arrive as the usual environment variables)."""

from __future__ import annotations

import os

from boardsync_dagster.commands.demo import DEFAULT_SCALE, scaled_knobs
from boardsync_dagster.definitions import build_definitions, default_resources
from boardsync_dagster.resources import ProxyResource


def scaled_resources(scale: float) -> dict[str, object]:
    knobs = {**scaled_knobs(scale)[0], **scaled_knobs(scale)[1]}
    return default_resources(
        eastmoney={k: v for k, v in knobs.items() if k not in ProxyResource.model_fields},
        proxy={k: v for k, v in knobs.items() if k in ProxyResource.model_fields},
    )


defs = build_definitions(scaled_resources(float(os.environ.get("BOARDSYNC_DEMO_SCALE", DEFAULT_SCALE))))
