"""What `boardsync sync` prints when it fails (issue 11.13): one line per failure saying what failed and what to
do, on stderr; no Dagster class path, no Dagster banner; the rest only with --verbose."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from boardsync_dagster.commands.summary import RunSummary
from boardsync_dagster.simulator import Simulator
from tests.reliability.conftest import SyncProcess, cli_flags, knobs, sync_args

SCALE = 0.05
PREFIX = "boardsync sync: "


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(PREFIX)]


def assert_plain(stderr: str) -> None:
    for noise in ("dagster._", "Slack", "Telemetry", "dagster.yaml", "Traceback"):
        assert noise not in stderr, f"{noise!r} on stderr:\n{stderr[-3000:]}"


def test_a_failing_sync_says_what_failed_in_one_line_and_more_only_with_verbose(tmp_path: Path):
    with Simulator(profile="calm", scale=SCALE, rng_seed=71, boards_scale=0.05) as sim:
        sim.vendor_fault("down")
        # A new DAGSTER_HOME: Dagster greets it with its telemetry notice and community banner.
        env = {"DAGSTER_HOME": str(tmp_path / "home")}
        (tmp_path / "home").mkdir()
        args = sync_args(sim, tmp_path / "boardsync.duckdb", SCALE)
        quiet = SyncProcess(tmp_path, args, env=env, name="quiet", sim=sim).finish()
        verbose = SyncProcess(tmp_path, [*args, "--verbose"], env=env, name="verbose", sim=sim).finish()

    assert quiet.rc == 1, quiet.stderr[-3000:]
    assert_plain(quiet.stderr)
    lines = error_lines(quiet.stderr)
    assert len(lines) == 1, quiet.stderr[-3000:]
    assert lines[0].startswith(f"{PREFIX}error: raw/board_list: ") and "vendor" in lines[0].lower()
    assert "error:" not in quiet.stdout  # the report on stdout, the failure on stderr, once
    assert quiet.report["status"] == "failed" and len(quiet.report["errors"]) == 1

    assert verbose.rc == 1
    assert len(error_lines(verbose.stderr)) == 1
    assert "STEP_FAILURE" in verbose.stderr  # Dagster's event log, for whoever asks for it


def test_a_proxy_url_that_cannot_be_read_is_one_line_before_the_run(tmp_path: Path):
    with Simulator(profile="calm", scale=SCALE, rng_seed=72, boards_scale=0.05) as sim:
        env = {"BOARDSYNC_PROXY_URL": "alice:s3cret/PW@127.0.0.1:80x80"}
        plain = ["--database", str(tmp_path / "boardsync.duckdb"), "--eastmoney-url", sim.eastmoney_url]
        done = SyncProcess(tmp_path, [*plain, *cli_flags(knobs(SCALE))], env=env).finish()
        assert sim.stats()["requests"] == 0

    assert done.rc == 2
    assert_plain(done.stderr)
    (line,) = error_lines(done.stderr)
    assert "BOARDSYNC_PROXY_URL" in line and "host:port" in line
    assert "s3cret" not in done.stderr + done.stdout and "alice" not in done.stderr + done.stdout
    assert not (tmp_path / "boardsync.duckdb").exists()


def test_an_unexpected_exception_is_named_by_its_class_and_message_only():
    @dg.asset
    def board_list():
        raise OSError("disk full while writing the checkpoint")

    result = dg.materialize([board_list], raise_on_error=False)
    summary = RunSummary.from_result("2026-01-01", result)

    (error,) = summary.errors
    assert error.startswith("board_list: OSError: disk full while writing the checkpoint.")
    assert "--verbose" in error and "dagster._" not in error and "\n" not in error
