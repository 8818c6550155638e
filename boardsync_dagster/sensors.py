"""board_sync_retry_sensor: one more run of today's partition when its completeness check failed.

It reads Dagster's event log only (check results, materialisation metadata, runs), never the DuckDB file:
DuckDB allows one writer process, and that is the run. A retry resumes from the checkpoint, so it fetches
only the boards still missing.
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
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]  # fmt: skip


@dataclass(frozen=True)
class RetryPolicy:
    cooldown_s: float = 30 * 60
    max_per_day: int = 3
    # A retry costs at least a few IPs; below this the vendor would refuse mid-run, so do not start one.
    min_quota_left: int = 10


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
        if (record.partition or (run and run.tags.get("dagster/partition"))) == partition:
            return record
    return None


def quota_left(instance: dg.DagsterInstance, partition: str) -> int | None:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=MEMBERS, asset_partitions=[partition]), limit=1
    )
    if not result.records:
        return None
    value = result.records[0].asset_materialization.metadata.get("quota_left")
    return None if value is None else int(value.value)


def decide(instance: dg.DagsterInstance, policy: RetryPolicy, now: float) -> dg.RunRequest | dg.SkipReason:
    today = dt.datetime.fromtimestamp(now, SHANGHAI).date().isoformat()
    record = latest_check(instance, today)
    if record is None:
        return dg.SkipReason(f"no completeness result for {today} yet")
    if record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
        return dg.SkipReason(f"{today} is complete")
    if instance.get_runs(dg.RunsFilter(statuses=ACTIVE, tags={"dagster/partition": today}), limit=1):
        return dg.SkipReason(f"a run of {today} is in progress")
    waited = now - record.create_timestamp
    if waited < policy.cooldown_s:
        return dg.SkipReason(
            f"cooling down: {waited:.0f}s of {policy.cooldown_s:.0f}s since the failed check"
        )
    retries = len(instance.get_runs(dg.RunsFilter(tags={RETRY_TAG: today}), limit=policy.max_per_day + 1))
    if retries >= policy.max_per_day:
        return dg.SkipReason(f"{retries} retries of {today} already: giving up for today")
    left = quota_left(instance, today)
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
        description="Retries today's partition after a failed completeness check (bounded, quota-aware).",
    )
    def board_sync_retry_sensor(context: dg.SensorEvaluationContext):
        return decide(context.instance, policy, now())

    return board_sync_retry_sensor
