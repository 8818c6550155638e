"""Bad configuration is refused at launch, naming the field: `boardsync sync` exits 2 before any request, and a
Dagster launch fails the step (or refuses the resource) before any request."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pydantic
import pytest

from boardsync_dagster.cli import main
from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform
from tests.reliability.conftest import step_failure, today

CASES = [
    (["--workers", "0"], "workers"),
    (["--ip-ttl", "-1"], "ip_ttl"),
    (["--ttl-jitter", "-0.5"], "ttl_jitter"),
    (["--ip-ttl", "2", "--ttl-jitter", "5"], "ttl_jitter"),
    (["--req-delay-min", "3", "--req-delay-max", "1"], "req_delay_min"),
    (["--max-ips", "0"], "max_ips"),
    (["--timeout", "0"], "timeout"),
    (["--lock-wait", "-1"], "lock_wait"),
    (["--workers", "six"], "workers"),
    (["--vendor-format", "nope"], "vendor-format"),
    (["--date", "+1 day"], "--date"),
    (["--date", "-1 day"], "--date"),
    (["--date", "2020-01-02"], "--date"),
    (["--date", "2026-13-01"], "--date"),
]


def relative_day(flag: str) -> str:
    """'+1 day' / '-1 day' as a date relative to today, computed when the test runs (not at collection)."""
    if not flag.endswith(" day"):
        return flag
    return (today() + dt.timedelta(days=int(flag.split()[0]))).isoformat()


@pytest.fixture
def sim():
    with Simulator(profile="calm", scale=0.05, rng_seed=51, boards_scale=0.05) as sim:
        yield sim


@pytest.mark.parametrize("flags, field", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_cli_refuses_bad_configuration_with_exit_2_naming_the_field(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, flags: list[str], field: str
):
    for name in ("BOARDSYNC_DB", "BOARDSYNC_EASTMONEY_URL", "BOARDSYNC_TODAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOARDSYNC_PROXY_API", sim.vendor_url)
    db = tmp_path / "boardsync.duckdb"
    argv = ["sync", "--json", "--no-dbt", "--database", str(db), "--eastmoney-url", sim.eastmoney_url]
    flags = [relative_day(flag) for flag in flags]
    try:
        rc = main([*argv, *flags])
    except SystemExit as exc:  # argparse refuses a choice outside the list itself, with exit 2
        rc = exc.code
    out, err = capsys.readouterr()
    if "invalid choice" in err:  # argparse's own words, on stderr only
        assert rc == 2 and field in err
        return
    assert rc == 2, out + err
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["status"] == "error" and field in answer["error"]
    assert field in err
    assert sim.stats()["requests"] == 0 and sim.stats()["vendor_calls"] == 0
    assert not db.exists(), "refused before the database was touched"


def test_dagster_launch_refuses_bad_configuration_naming_the_field(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    job = Platform(sim, tmp_path / "boardsync.duckdb", monkeypatch, scale=0.05)
    with pytest.raises(pydantic.ValidationError, match="workers"):
        job.run(workers=0)
    with pytest.raises(pydantic.ValidationError, match="ip_ttl"):
        job.run(ip_ttl=-1.0)
    result = job.run(req_delay_min=3.0, req_delay_max=1.0)
    assert not result.success
    assert "Bad configuration" in step_failure(result, "raw__board_list") and "req_delay_min" in step_failure(
        result, "raw__board_list"
    )
    assert sim.stats()["requests"] == 0 and sim.stats()["vendor_calls"] == 0
