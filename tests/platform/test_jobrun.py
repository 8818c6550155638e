"""The test harness itself (issue 11.15): a Platform run takes the day from the clock when it starts."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import jobrun
from tests.jobrun import RAW
from tests.platform.conftest import Platform


def test_the_partition_is_the_day_the_run_starts_not_the_day_the_session_did(
    calm: Platform, monkeypatch: pytest.MonkeyPatch
):
    """Midnight in Shanghai passes between collection and the run: the clock moves, and the run follows it.

    The product can only be told a day in the past (BOARDSYNC_TODAY, for replays), so the clock is moved back
    a day for both: the harness (jobrun.today) and the product must agree on it, as they do at any real hour.
    """
    day = (dt.date.fromisoformat(jobrun.today()) - dt.timedelta(days=1)).isoformat()
    monkeypatch.setattr(jobrun, "today", lambda: day, raising=False)
    monkeypatch.setenv("BOARDSYNC_TODAY", day)

    result = calm.run(assets=RAW)

    assert result.success, [str(e.event_specific_data) for e in result.all_events if e.is_step_failure]
    assert result.dagster_run.tags["dagster/partition"] == day
    assert calm.query("select distinct snapshot_date::varchar from raw.board_list") == [(day,)]
