"""board_sync_retry_sensor: one more run of today's partition when the day did not finish.

A day did not finish when its completeness check failed, or when its last run failed or was terminated before
the check could run (a ban, the quota, a bad answer, a cancel), or went silent because its process was killed.
The sensor polls instead of reacting to each run's end: a retry waits out a cool-down, and a status sensor that
skipped during the cool-down would never see that run again.

It reads Dagster's run storage and event log only, never the DuckDB file: DuckDB allows one writer process, and
that is the run. A retry resumes from the checkpoint, so it fetches only the boards still missing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from boardsync_dagster.assets.member_checks import COMPLETE, MEMBERS
from boardsync_dagster.dagster_private import AssetCheckExecutionRecordStatus
from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.jobs import board_sync_job

COMPLETE_CHECK = dg.AssetCheckKey(MEMBERS, COMPLETE)
RETRY_TAG = "boardsync/retry_of"
PARTITION_TAG = "dagster/partition"
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]  # fmt: skip
STOPPED = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
# Only a started run can go silent: a queued one may wait for the pool as long as it needs.
RUNNING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


@dataclass(frozen=True)
class RetryPolicy:
    cooldown_s: float = 30 * 60
    max_per_day: int = 3
    # A retry costs at least a few IPs; below this the vendor would refuse mid-run, so do not start one.
    min_quota_left: int = 10
    # A started run that logged nothing for this long lost its process (kill -9, a host restart): a live sync
    # logs progress every few seconds. Dagster's own run monitoring marks such runs failed only when enabled.
    silent_after_s: float = 30 * 60


@dataclass(frozen=True)
class Stop:
    """Today's latest run that ended without finishing the day."""

    run_id: str
    at: float  # when it ended, or its last event if it went silent
    why: str


def latest_check(instance: dg.DagsterInstance, partition: str):
    """The newest finished completeness result for the partition.

    The partition is read off the run's tags: in Dagster 1.13 (partition-aware checks are a preview) a failed
    evaluation is stored without its partition.
    """
    records = instance.event_log_storage.get_asset_check_execution_history(
        COMPLETE_CHECK,
        limit=50,
        status={AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED},
    )
    for record in records:
        run = instance.get_run_by_id(record.run_id)
        if (record.partition or (run and run.tags.get(PARTITION_TAG))) == partition:
            return record
    return None


def day_runs(statuses: list[dg.DagsterRunStatus], partition: str) -> dg.RunsFilter:
    return dg.RunsFilter(job_name=board_sync_job.name, statuses=statuses, tags={PARTITION_TAG: partition})


def last_event_at(instance: dg.DagsterInstance, run_id: str) -> float | None:
    records = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    return records[0].timestamp if records else None


def silent_runs(instance: dg.DagsterInstance, partition: str, policy: RetryPolicy, now: float) -> list[Stop]:
    """Started runs of the day that logged nothing for silent_after_s: their process is gone."""
    found = []
    for record in instance.get_run_records(day_runs(RUNNING, partition), limit=10):
        last = last_event_at(instance, record.dagster_run.run_id) or record.create_timestamp.timestamp()
        if now - last >= policy.silent_after_s:
            found.append(
                Stop(record.dagster_run.run_id, last, f"silent for {now - last:.0f}s (process gone)")
            )
    return found


def latest_stop(instance: dg.DagsterInstance, partition: str, policy: RetryPolicy, now: float) -> Stop | None:
    stops = silent_runs(instance, partition, policy, now)
    for record in instance.get_run_records(day_runs(STOPPED, partition), limit=1):
        run = record.dagster_run
        ended = record.end_time or record.update_timestamp.timestamp()
        stops.append(Stop(run.run_id, ended, run.status.value.lower()))
    return max(stops, key=lambda s: s.at, default=None)


def quota_left(instance: dg.DagsterInstance, partition: str, stop: Stop | None) -> int | None:
    """The IPs left that board_members last reported: on its materialisation, or on the failure of the stopped
    run (a run stopped by the quota materialises nothing), whichever is newer."""
    reports: list[tuple[float, int]] = []
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=MEMBERS, asset_partitions=[partition]), limit=1
    )
    if result.records:
        value = result.records[0].asset_materialization.metadata.get("quota_left")
        if value is not None:
            reports.append((result.records[0].timestamp, int(value.value)))
    if stop is not None:
        failures = instance.get_records_for_run(stop.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
        for record in failures:
            data = record.event_log_entry.dagster_event.step_failure_data
            value = data.user_failure_data.metadata.get("quota_left") if data.user_failure_data else None
            if value is not None:
                reports.append((record.timestamp, int(value.value)))
    return max(reports, default=(0.0, None))[1]


def decide(instance: dg.DagsterInstance, policy: RetryPolicy, now: float) -> dg.RunRequest | dg.SkipReason:
    today = dt.datetime.fromtimestamp(now, SHANGHAI).date().isoformat()
    silent = {s.run_id for s in silent_runs(instance, today, policy, now)}
    active = instance.get_runs(dg.RunsFilter(statuses=ACTIVE, tags={PARTITION_TAG: today}), limit=20)
    if any(run.run_id not in silent for run in active):
        return dg.SkipReason(f"a run of {today} is in progress")
    record = latest_check(instance, today)
    stop = latest_stop(instance, today, policy, now)
    if record is None and stop is None:
        return dg.SkipReason(f"no completeness result and no stopped run for {today} yet")
    if record is not None and record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
        # The day's members are stored whole; a later run that stopped early (a forced re-run, a failed dbt
        # step) replaced nothing, since the partition is written only when every board is in.
        return dg.SkipReason(f"{today} is complete")
    failed_at = [stop.at] if stop else []
    if record is not None:
        failed_at.append(record.create_timestamp)
    what = f"run {stop.run_id[:8]} {stop.why}" if stop and stop.at == max(failed_at) else "the failed check"
    waited = now - max(failed_at)
    if waited < policy.cooldown_s:
        return dg.SkipReason(f"cooling down: {waited:.0f}s of {policy.cooldown_s:.0f}s since {what}")
    retries = len(instance.get_runs(dg.RunsFilter(tags={RETRY_TAG: today}), limit=policy.max_per_day + 1))
    if retries >= policy.max_per_day:
        return dg.SkipReason(f"{retries} retries of {today} already: giving up for today")
    left = quota_left(instance, today, stop)
    if left is not None and left < policy.min_quota_left:
        return dg.SkipReason(f"only {left} IPs left today (need {policy.min_quota_left}): not retrying")
    return dg.RunRequest(
        run_key=f"retry-{today}-{retries + 1}",
        partition_key=today,
        tags={RETRY_TAG: today, "boardsync/trigger": "retry_sensor"},
    )


def build_retry_sensor(
    policy: RetryPolicy = RetryPolicy(), now: Callable[[], float] = time.time
) -> dg.SensorDefinition:
    @dg.sensor(
        name="board_sync_retry_sensor",
        job=board_sync_job,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Retries today's partition after a failed completeness check, a failed or terminated run, or a "
        "run whose process died (bounded, cooled down, quota-aware).",
    )
    def board_sync_retry_sensor(context: dg.SensorEvaluationContext):
        return decide(context.instance, policy, now())

    return board_sync_retry_sensor
