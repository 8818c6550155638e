"""The seed profile against a client that works as the seed script did gives the seed run's failure rate."""

from boardsync_dagster.simulator.measure import seed_client


def test_seed_like_client_sees_about_the_seed_runs_failures() -> None:
    result = seed_client(scale=0.02, total=600)
    # The seed run: 76 failures in about 800 requests (9.5 %), never banned.
    assert 3.0 <= result["failed_pct"] <= 15.0, result
    assert result["bans"] == 0
    assert result["ips_issued"].get("dead", 0) > 0
