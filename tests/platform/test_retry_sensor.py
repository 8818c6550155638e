"""The retry sensor over runs that stopped before the completeness check (issue 11.12): failed, terminated, or
killed (silent). Runs are made in a test instance, as run storage records them; `now` is injected, so no test
waits for a cool-down."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
import pytest
from dagster._core.utils import make_new_run_id

from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.sensors import PARTITION_TAG, RETRY_TAG, RetryPolicy, build_retry_sensor, decide

POLICY = RetryPolicy(cooldown_s=600, max_per_day=2, min_quota_left=5, silent_after_s=1200)
# Judged this long after `now` was read: past the cool-down (or the silence) by a margin that covers the real
# seconds the test takes to make its runs before judging them.
LATER = 700
LATER_SILENT = 1300


def day_of(now: float) -> str:
    return dt.datetime.fromtimestamp(now, SHANGHAI).date().isoformat()


def add_run(
    instance: dg.DagsterInstance, day: str, status: dg.DagsterRunStatus, **tags: str
) -> dg.DagsterRun:
    """A run of board_sync_job for `day` as run storage holds it after it ended with `status`."""
    run = instance.add_run(
        dg.DagsterRun(
            job_name="board_sync_job",
            run_id=make_new_run_id(),
            status=dg.DagsterRunStatus.STARTED,
            tags={PARTITION_TAG: day, **tags},
        )
    )
    instance.report_engine_event("board_members: progress", run)
    if status == dg.DagsterRunStatus.FAILURE:
        instance.report_run_failed(run)
    elif status == dg.DagsterRunStatus.CANCELED:
        instance.report_run_canceled(run)
    return run


@pytest.mark.parametrize(
    ("status", "word"), [(dg.DagsterRunStatus.FAILURE, "failure"), (dg.DagsterRunStatus.CANCELED, "canceled")]
)
def test_a_run_that_failed_or_was_terminated_before_the_check_is_retried_after_the_cooldown(status, word):
    """A ban or a bad answer stops the run in board_list or board_members, a user or a deploy terminates it:
    no completeness result at all."""
    now = time.time()
    with dg.instance_for_test() as instance:
        add_run(instance, day_of(now + LATER), status)
        soon = decide(instance, POLICY, now + 10)
        later = decide(instance, POLICY, now + LATER)
    assert isinstance(soon, dg.SkipReason) and "cooling down" in soon.skip_message
    assert word in soon.skip_message
    assert isinstance(later, dg.RunRequest), later
    assert later.partition_key == day_of(now + LATER) and later.tags[RETRY_TAG] == day_of(now + LATER)


def test_a_killed_run_counts_as_in_progress_until_it_has_been_silent_too_long():
    """kill -9 leaves the run STARTED in run storage for ever; it logged progress every few seconds until then."""
    now = time.time()
    with dg.instance_for_test() as instance:
        add_run(instance, day_of(now + LATER_SILENT), dg.DagsterRunStatus.STARTED)
        running = decide(instance, POLICY, now + 300)
        dead = decide(instance, POLICY, now + LATER_SILENT)
    assert isinstance(running, dg.SkipReason) and "in progress" in running.skip_message
    assert isinstance(dead, dg.RunRequest), dead


def test_stopped_runs_are_retried_at_most_max_per_day():
    now = time.time()
    day = day_of(now + LATER)
    with dg.instance_for_test() as instance:
        add_run(instance, day, dg.DagsterRunStatus.FAILURE)
        for _ in range(POLICY.max_per_day):
            add_run(instance, day, dg.DagsterRunStatus.FAILURE, **{RETRY_TAG: day})
        result = decide(instance, POLICY, now + LATER)
    assert isinstance(result, dg.SkipReason) and "giving up" in result.skip_message


def test_a_run_stopped_by_the_quota_is_not_retried():
    """It materialises nothing: the IPs left are read from its failure's metadata."""
    now = time.time()
    day = day_of(now + LATER)
    partitions = dg.DailyPartitionsDefinition(start_date="2025-12-01", timezone="Asia/Shanghai", end_offset=2)

    @dg.asset(name="board_members", key_prefix="raw", partitions_def=partitions)
    def stopped_by_quota():
        raise dg.Failure(description="The quota is spent.", metadata={"quota_left": 2})

    job = dg.Definitions(
        assets=[stopped_by_quota], jobs=[dg.define_asset_job("board_sync_job", [stopped_by_quota])]
    ).resolve_job_def("board_sync_job")
    with dg.instance_for_test() as instance:
        assert not job.execute_in_process(instance=instance, partition_key=day, raise_on_error=False).success
        result = decide(instance, POLICY, now + LATER)
        plenty = decide(instance, RetryPolicy(cooldown_s=600, min_quota_left=2), now + LATER)
    assert isinstance(result, dg.SkipReason) and "only 2 IPs left" in result.skip_message
    assert isinstance(plenty, dg.RunRequest)


def test_another_days_stopped_run_is_not_todays_business():
    now = time.time()
    yesterday = (dt.date.fromisoformat(day_of(now)) - dt.timedelta(days=1)).isoformat()
    with dg.instance_for_test() as instance:
        add_run(instance, yesterday, dg.DagsterRunStatus.FAILURE)
        result = decide(instance, POLICY, now + LATER)
    assert isinstance(result, dg.SkipReason) and "no completeness result" in result.skip_message


def test_the_sensor_itself_requests_the_retry_with_the_injected_clock():
    now = time.time()
    with dg.instance_for_test() as instance:
        add_run(instance, day_of(now + LATER), dg.DagsterRunStatus.FAILURE)
        sensor = build_retry_sensor(POLICY, now=lambda: now + LATER)
        result = sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.RunRequest), result
    assert result.run_key == f"retry-{day_of(now + LATER)}-1"
