"""deploy/production/dagster.yaml as a team server runs it: Dagster's storage in a real PostgreSQL database, a
code server and a dagster-daemon, runs launched into the queue against the simulator."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import dagster as dg
import pytest

from boardsync_dagster.simulator import Simulator
from tests.jobrun import job_settings, today
from tests.production.deployment import Deployment, dagster_url
from tests.reliability.conftest import list_pages, member_pages, wait_until

# Each test starts a daemon and a code server and waits for whole runs (dbt included) on a loaded 2-core machine.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

SCALE = 0.05
# Not scaled: a loaded 2-core machine can take longer than a scaled timeout to answer (as in tests/platform).
TIMEOUT_S = 3.0
RUNS_S = 400.0
MONITORING_POLL_S = 2


def run_config(**knobs: object) -> dict:
    return {"resources": {"sync": {"config": job_settings(SCALE, TIMEOUT_S, **knobs)}}}


def events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list:
    return [
        r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=kind, limit=10_000).records
    ]


def step_time(instance, run_id: str, step: str, kind: dg.DagsterEventType) -> float:
    (entry,) = [e for e in events(instance, run_id, kind) if e.step_key == step]
    return entry.timestamp


def members_metadata(instance, run_id: str) -> dict:
    (entry,) = [
        e
        for e in events(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
        if e.dagster_event.asset_key == dg.AssetKey(["raw", "board_members"])
    ]
    return {k: v.value for k, v in entry.dagster_event.materialization.metadata.items()}


def finished_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs() if r.is_finished]


def wait_for_runs(deployment: Deployment, instance: dg.DagsterInstance, count: int) -> list[dg.DagsterRun]:
    """The deployment's runs once `count` have finished, in the order they started."""
    assert wait_until(lambda: len(finished_runs(instance)) == count, RUNS_S, interval=1.0), deployment.log(
        "daemon"
    )
    return sorted(instance.get_runs(), key=lambda r: instance.get_run_record_by_id(r.run_id).start_time)


@pytest.fixture
def deployed(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_url(pg_dsn))
    partition_limit = getattr(request, "param", True)
    with Simulator(profile="calm", scale=SCALE, rng_seed=51, boards_scale=0.05) as sim:
        deployment = Deployment(tmp_path, pg_dsn, sim, MONITORING_POLL_S, partition_limit)
        try:
            with deployment.instance() as instance:
                yield deployment, instance
        finally:
            deployment.close()


def test_two_runs_of_today_at_once_share_the_day_and_fetch_each_board_once(deployed):
    """deploy/production/dagster.yaml as it is: the per-partition run limit holds the second run in the queue
    (so its fetch steps wait too) until the first is done; then it resumes from the first run's checkpoint."""
    deployment, instance = deployed
    sim = deployment.sim
    boards = set(sim.truth())
    deployment.launch(run_config(), today(), count=2)
    runs = wait_for_runs(deployment, instance, 2)
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2, deployment.log("code-server")
    first, second = (r.run_id for r in runs)

    # The fetch steps never overlapped: the second run fetched only after the first run's members were in.
    step = dg.DagsterEventType
    assert step_time(instance, second, "raw__board_list", step.STEP_START) >= step_time(
        instance, first, "raw__board_members", step.STEP_SUCCESS
    )
    # ...and it resumed from the first run's checkpoint: each board's pages were fetched once in all.
    assert members_metadata(instance, first)["boards_ok"] == len(boards)
    assert members_metadata(instance, second)["boards_ok"] == 0
    assert members_metadata(instance, second)["boards_skipped"] == len(boards)
    assert sim.stats()["requests"] == 2 * list_pages(sim) + member_pages(sim, boards)
    # Both runs, with their events, are in the PostgreSQL run storage.
    for run_id in (first, second):
        assert events(instance, run_id, step.RUN_SUCCESS)
        assert len(events(instance, run_id, step.STEP_SUCCESS)) >= 3  # board_list, board_members, dbt


@pytest.mark.parametrize("deployed", [False], indirect=True, ids=["pool alone"])
def test_without_the_partition_limit_the_pool_holds_the_second_runs_fetch_steps(deployed):
    """The per-partition run limit taken out (as for a run that bypasses the queue): both runs start at once, and
    the boardsync_proxy pool alone keeps their fetch steps apart; whichever members step comes second resumes."""
    deployment, instance = deployed
    sim = deployment.sim
    boards = set(sim.truth())
    # Each IP paced at one request per 0.5 real seconds, not growing: the fetch steps last ~10 s, longer than two
    # run processes on a loaded machine start apart, so the runs meet at the pool (at full pace they took ~1 s
    # and, once in a full suite, did not).
    deployment.launch(run_config(pace_start_spacing=0.5, pace_grow_every=600.0), today(), count=2)
    runs = wait_for_runs(deployment, instance, 2)
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2, deployment.log("code-server")
    step = dg.DagsterEventType
    spans = sorted(
        (
            step_time(instance, r.run_id, name, step.STEP_START),
            step_time(instance, r.run_id, name, step.STEP_SUCCESS),
        )
        for r in runs
        for name in ("raw__board_list", "raw__board_members")
    )
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False)), spans
    # They met: the second run was submitted before the first one's fetch was done, and was held. Usually its step
    # logs the wait for the pool slot; once in a full CI run none did (held before its steps started), so the test
    # asserts the meeting and the order above, not where Dagster held it.
    first_done = step_time(instance, runs[0].run_id, "raw__board_members", step.STEP_SUCCESS)
    submitted = instance.get_run_record_by_id(runs[1].run_id).create_timestamp.timestamp()
    assert submitted < first_done, (
        "the two runs did not meet: the second was submitted after the first fetched"
    )
    fetched = sorted(members_metadata(instance, r.run_id)["boards_ok"] for r in runs)
    assert fetched == [0, len(boards)]
    assert sim.stats()["requests"] == 2 * list_pages(sim) + member_pages(sim, boards)


def test_a_run_killed_with_kill_9_frees_its_slot_and_the_next_run_completes_the_day(deployed):
    deployment, instance = deployed
    sim = deployment.sim
    boards = set(sim.truth())
    # One worker and slower requests, so the members step is long enough to be killed part-way.
    scaled = job_settings(SCALE, TIMEOUT_S)
    slow = {
        "workers": 1,
        "req_delay_min": 3 * scaled["req_delay_min"],
        "req_delay_max": 3 * scaled["req_delay_max"],
    }
    deployment.launch(run_config(**slow), today(), count=2)
    in_members = list_pages(sim) + 3
    assert wait_until(lambda: sim.stats()["requests"] >= in_members, RUNS_S, interval=0.1), deployment.log(
        "daemon"
    )
    (victim,) = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.STARTED]
    # The run worker's process id, as the run itself recorded it.
    (started,) = events(instance, victim.run_id, dg.DagsterEventType.RUN_START)
    os.kill(started.dagster_event.pid, signal.SIGKILL)

    statuses = {r.run_id: r.status for r in wait_for_runs(deployment, instance, 2)}
    (survivor,) = [run_id for run_id in statuses if run_id != victim.run_id]
    assert statuses[victim.run_id] == dg.DagsterRunStatus.FAILURE
    assert statuses[survivor] == dg.DagsterRunStatus.SUCCESS, deployment.log("code-server")
    # The code server that started the run saw its process die and said how; the run never reported anything.
    said = [e.message for e in events(instance, victim.run_id, dg.DagsterEventType.ENGINE_EVENT)]
    assert any("SIGKILL" in (m or "") for m in said), said
    # The next run resumed from the killed run's checkpoint and completed the day.
    metadata = members_metadata(instance, survivor)
    assert 0 < metadata["boards_skipped"] < len(boards)
    assert metadata["boards_skipped"] + metadata["boards_ok"] == len(boards)
    # No pool slot is left claimed by the dead run.
    pool = instance.event_log_storage.get_concurrency_info("boardsync_proxy")
    assert pool.claimed_slots == [] and pool.pending_steps == []
