"""The schedule and the retry sensor, evaluated with Dagster's test contexts over real runs' event logs."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import dagster as dg

from boardsync_dagster.schedules import board_sync_schedule
from boardsync_dagster.sensors import RETRY_TAG, RetryPolicy, build_retry_sensor, decide
from tests.jobrun import RAW
from tests.platform.conftest import Platform, today


def test_schedule_requests_the_shanghai_day_of_its_tick():
    # 16:30 in Shanghai is 08:30 UTC: the partition is the Shanghai calendar day.
    tick = dt.datetime(2026, 3, 3, 16, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    request = board_sync_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == "2026-03-03"
    assert request.run_key == "scheduled-2026-03-03"
    assert board_sync_schedule.cron_schedule == "30 16 * * 1-5"
    assert board_sync_schedule.execution_timezone == "Asia/Shanghai"


def incomplete_run(calm: Platform) -> dg.ExecuteInProcessResult:
    """board_members for one board of the day's list only: the completeness check fails. (A board deleted after
    the list no longer fails the day: it is reported gone, issue 11.9.)"""
    return calm.run(assets=["raw/board_members"], boards=sorted(calm.sim.truth())[:1])


def failed_day(calm: Platform) -> None:
    assert calm.run(assets=["raw/board_list"]).success
    assert not incomplete_run(calm).success


def test_sensor_retries_a_failed_day_after_the_cooldown_and_within_bounds(calm: Platform):
    failed_day(calm)
    policy = RetryPolicy(cooldown_s=600, max_per_day=2, min_quota_left=5)

    soon = decide(calm.instance, policy, time.time())
    assert isinstance(soon, dg.SkipReason) and "cooling down" in soon.skip_message

    later = time.time() + 601
    request = decide(calm.instance, policy, later)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == today() and request.tags[RETRY_TAG] == today()

    # Two retries launched (and failed again) use up the day's budget.
    for _ in range(2):
        assert not incomplete_run(calm).success
        run = calm.instance.get_runs(limit=1)[0]
        calm.instance.add_run_tags(run.run_id, {RETRY_TAG: today()})
    # Judged well after the last failure too, so only the day's retry budget can be the reason to skip.
    exhausted = decide(calm.instance, policy, time.time() + 601)
    assert isinstance(exhausted, dg.SkipReason) and "giving up" in exhausted.skip_message


def test_sensor_never_retries_when_the_quota_cannot_cover_it(calm: Platform):
    failed_day(calm)
    left = calm.instance.fetch_materializations(dg.AssetKey(["raw", "board_members"]), limit=1)
    quota_left = left.records[0].asset_materialization.metadata["quota_left"].value
    policy = RetryPolicy(cooldown_s=0, max_per_day=3, min_quota_left=quota_left + 1)
    skip = decide(calm.instance, policy, time.time())
    assert isinstance(skip, dg.SkipReason) and "IPs left" in skip.skip_message


def test_sensor_is_quiet_on_a_complete_day(calm: Platform):
    assert calm.run(assets=RAW).success
    sensor = build_retry_sensor(RetryPolicy(cooldown_s=0))
    result = sensor(dg.build_sensor_context(instance=calm.instance))
    assert isinstance(result, dg.SkipReason) and "complete" in result.skip_message


def test_sensor_skips_a_day_with_no_run():
    with dg.instance_for_test() as instance:
        result = decide(instance, RetryPolicy(), time.time())
    assert isinstance(result, dg.SkipReason) and "no completeness result" in result.skip_message
