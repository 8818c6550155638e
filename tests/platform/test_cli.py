"""`boardsync sync` and `boardsync demo` as a user runs them: a subprocess, an exit code, a JSON last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from boardsync_dagster.commands import demo
from boardsync_dagster.simulator import Profile, Simulator
from tests.platform.conftest import CALM_TIMEOUT_S, SCALE

BOARDSYNC = [sys.executable, "-m", "boardsync_dagster.cli"]


def run_cli(
    *args: str, cwd: Path, timeout: float = 240, sim: Simulator | None = None
) -> subprocess.CompletedProcess:
    """The CLI as a user runs it; with sim, its vendor URL in BOARDSYNC_PROXY_API as a user gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOARDSYNC_", "DAGSTER_HOME"))}
    if sim is not None:
        env["BOARDSYNC_PROXY_API"] = sim.vendor_url
    return subprocess.run(
        [*BOARDSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def scaled_flags(sim: Simulator, db: Path) -> list[str]:
    return [
        f"--database={db}",
        f"--eastmoney-url={sim.eastmoney_url}",
        *demo.scaled_flags(SCALE),
        f"--timeout={CALM_TIMEOUT_S}",  # the last --timeout wins; see conftest.scaled_settings
        "--json",
    ]


def test_sync_complete_day_exits_zero_with_a_json_report(tmp_path: Path):
    with Simulator(profile="calm", scale=SCALE, rng_seed=5, boards_scale=0.03) as sim:
        done = run_cli("sync", *scaled_flags(sim, tmp_path / "b.duckdb"), cwd=tmp_path, sim=sim)
        boards = len(sim.truth())
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == "complete" and report["boards_ok"] == boards
    assert report["checks"]["raw/board_members:all_boards_complete"] is True
    assert "| boards complete |" in done.stdout  # the day's report (beside our own history) precedes the JSON
    assert "progress:" in done.stderr  # not a terminal: progress lines, one per interval


def test_sync_incomplete_day_exits_one_and_lists_the_missing_boards(tmp_path: Path):
    with Simulator(profile=Profile(null_data=1.0), scale=SCALE, rng_seed=5, boards_scale=0.03) as sim:
        done = run_cli(
            "sync",
            *scaled_flags(sim, tmp_path / "b.duckdb"),
            "--max-retry=1",
            "--no-dbt",
            cwd=tmp_path,
            sim=sim,
        )
        boards = len(sim.truth())
    assert done.returncode == 1, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == "incomplete" and report["complete"] is False
    assert report["checks"]["raw/board_members:all_boards_complete"] is False
    assert len(report["missing"]) == boards


def test_sync_refuses_bad_config_naming_the_field(tmp_path: Path):
    done = run_cli(
        "sync", "--workers=0", "--direct", f"--database={tmp_path / 'b.duckdb'}", cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2
    assert "workers" in done.stderr
    assert not (tmp_path / "b.duckdb").exists()


def test_demo_runs_the_whole_job_against_the_simulator(tmp_path: Path):
    done = run_cli(
        "demo", "--scale=0.05", "--boards-scale=0.03", "--profile=calm", f"--db={tmp_path / 'demo.duckdb'}",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == "complete"
    assert "marts/board_membership_history" in report["materialized"]
    # The demo, and only the demo (and the benchmark), sets the run beside the seed's figures.
    assert "| total boards ok" in done.stdout and "527/527" in done.stdout
