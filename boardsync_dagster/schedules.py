"""Weekdays after the close (15:00 Asia/Shanghai), today's partition."""

import dagster as dg

from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.jobs import board_sync_job


@dg.schedule(
    job=board_sync_job,
    cron_schedule="30 16 * * 1-5",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekdays 16:30 Asia/Shanghai: sync today's partition.",
)
def board_sync_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.astimezone(SHANGHAI).date().isoformat()
    return dg.RunRequest(
        run_key=f"scheduled-{day}", partition_key=day, tags={"boardsync/trigger": "schedule"}
    )
