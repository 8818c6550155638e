import dataclasses

import pytest

from boardsync_dagster.engine.config import DURATION_FIELDS, SyncConfig
from boardsync_dagster.engine.errors import ConfigError


def test_defaults_are_the_seed_parameters_and_valid():
    cfg = SyncConfig().validate()
    assert (cfg.workers, cfg.max_ips, cfg.ip_ttl, cfg.min_interval, cfg.max_retry) == (6, 200, 45.0, 2.0, 10)


@pytest.mark.parametrize(
    "field, value",
    [
        ("workers", 0),
        ("workers", 2.5),
        ("ip_ttl", -1.0),
        ("ip_ttl", float("nan")),
        ("timeout", 0),
        ("max_retry", -1),
        ("page_size", 500),
        ("max_ips", 0),
        ("max_ips_per_run", 0),
        ("ttl_jitter", 50.0),
        ("min_interval", True),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=rf"SyncConfig\.{field}"):
        dataclasses.replace(SyncConfig(), **{field: value}).validate()


def test_every_count_is_checked():
    counts = [f.name for f in dataclasses.fields(SyncConfig) if f.type in ("int", int)]
    assert "auth_stop_after" in counts
    for name in counts:
        with pytest.raises(ConfigError, match=rf"SyncConfig\.{name}: must be an integer"):
            dataclasses.replace(SyncConfig(), **{name: -1}).validate()


def test_min_delay_above_max_names_the_field():
    with pytest.raises(ConfigError, match="req_delay_min.*req_delay_max"):
        SyncConfig(req_delay_min=3.0, req_delay_max=2.0).validate()


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_scaled_multiplies_every_duration_and_nothing_else():
    cfg = SyncConfig()
    small = cfg.scaled(0.05)
    for name in DURATION_FIELDS:
        assert getattr(small, name) == pytest.approx(getattr(cfg, name) * 0.05)
    assert (small.workers, small.max_ips, small.max_retry) == (cfg.workers, cfg.max_ips, cfg.max_retry)
    small.validate()
    with pytest.raises(ConfigError, match="scale"):
        cfg.scaled(0)


def test_every_float_field_is_a_duration_or_deliberately_not():
    floats = {f.name for f in dataclasses.fields(SyncConfig) if f.type in ("float", float)}
    assert floats == set(DURATION_FIELDS) | {"pace_jitter"}  # a fraction of the spacing, not seconds
