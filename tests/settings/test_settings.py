"""One declaration per setting: SyncConfig's fields generate the CLI flags, the Dagster resource and the docs."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from boardsync_dagster import settings
from boardsync_dagster.commands import sync
from boardsync_dagster.engine.config import DURATION_FIELDS, SyncConfig, setting
from boardsync_dagster.engine.errors import ConfigError
from boardsync_dagster.resources import SyncResource, resource_class

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def help_text(cls: type = SyncConfig) -> str:
    parser = argparse.ArgumentParser(prog="boardsync sync")
    settings.add_arguments(parser, cls)
    return parser.format_help()


def schema_fields(resource: type) -> dict:
    return resource.to_config_schema().as_field().config_type.fields


def test_a_new_setting_added_to_syncconfig_alone_appears_in_flags_resource_and_docs():
    extended = dataclasses.make_dataclass(
        "Extended",
        [("probe_knob", int, setting(7, "A probe setting.", section="proxy", unit="s", minimum=1))],
        bases=(SyncConfig,),
        frozen=True,
    )
    assert "--probe-knob" in help_text(extended) and "A probe setting." in help_text(extended)
    fields = schema_fields(resource_class(extended))
    assert "probe_knob" in fields and fields["probe_knob"].description == "A probe setting. (default 7 s)"
    assert "| `probe_knob` | `--probe-knob` |  | `7` | s | A probe setting. |" in settings.markdown_table(
        extended
    )


def test_every_setting_is_a_flag_a_resource_field_and_a_docs_row():
    text, fields, table = help_text(), schema_fields(SyncResource), settings.markdown_table()
    for f in dataclasses.fields(SyncConfig):
        assert settings.flag(f.name) in text, f.name
        assert f.name in fields and fields[f.name].description.startswith(f.metadata["help"]), f.name
        assert f"| `{f.name}`" in table, f.name
    assert set(fields) == {f.name for f in dataclasses.fields(SyncConfig)}  # and nothing else: no secret


def test_docs_settings_table_is_the_generated_one():
    text = DOCS.read_text()
    generated = text.split("-->\n", 1)[1].split("<!-- settings:end -->")[0]
    assert generated == settings.markdown_table(), (
        "run: .venv/bin/boardsync settings --markdown (docs/settings.md)"
    )


def test_a_given_value_beats_the_environment_which_beats_the_default():
    env = {"BOARDSYNC_DB": "/env.duckdb", "BOARDSYNC_TODAY": "2026-03-02"}
    assert settings.resolve({}, {}).database == SyncConfig().database
    assert settings.resolve({}, env).database == "/env.duckdb"
    assert settings.resolve({"database": "/flag.duckdb"}, env).database == "/flag.duckdb"
    assert settings.resolve({}, env).today == "2026-03-02"


def test_flags_parse_to_their_types_and_bad_ones_name_the_field():
    parser = argparse.ArgumentParser()
    sync.add_sync_arguments(parser)
    args = parser.parse_args(["--workers", "3", "--ip-ttl", "30.5", "--boards", "BK0001, BK0002", "--force"])
    given = settings.given_from_args(args)
    assert given == {"workers": 3, "ip_ttl": 30.5, "boards": ("BK0001", "BK0002"), "force": True}
    config = settings.resolve(given, {})
    assert (config.workers, config.ip_ttl, config.boards, config.force) == (
        3,
        30.5,
        ("BK0001", "BK0002"),
        True,
    )
    with pytest.raises(ConfigError, match=r"SyncConfig\.workers: 'six' is not an integer"):
        settings.given_from_args(parser.parse_args(["--workers", "six"]))
    with pytest.raises(ConfigError, match=r"SyncConfig\.workers: must be an integer >= 1"):
        settings.resolve({"workers": 0}, {})


def test_durations_are_exactly_the_settings_in_seconds_that_scale():
    seconds = {f.name for f in dataclasses.fields(SyncConfig) if f.metadata["unit"] == "s"}
    assert set(DURATION_FIELDS) == seconds - {"lock_wait"}  # waiting for another process is real time


def test_secrets_are_read_from_the_environment_only():
    env = {
        "BOARDSYNC_PROXY_API": "http://127.0.0.1:9/get?key=k",
        "BOARDSYNC_PROXY_USER": "u",
        "BOARDSYNC_PROXY_PASSWORD": "p",
    }
    proxy = settings.proxy_from_env(SyncConfig(), env)
    assert (proxy.mode, proxy.proxy_api, proxy.user, proxy.password) == (
        "vendor",
        env["BOARDSYNC_PROXY_API"],
        "u",
        "p",
    )
    assert settings.proxy_from_env(SyncConfig(direct=True), env).mode == "direct"
    assert not [f for f in dataclasses.fields(SyncConfig) if f.name in settings.SECRET_ENV]
