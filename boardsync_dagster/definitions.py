"""The one Definitions object that `dagster dev`, `dagster definitions validate` and `dg` load."""

import dagster as dg

defs = dg.Definitions(assets=[])
