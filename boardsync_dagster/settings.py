"""The settings as users meet them, generated from SyncConfig's declarations: CLI flags, environment, docs table.

One rule resolves a setting: a value given (a CLI flag, or the Dagster resource's run config) wins, then the
setting's environment variable if it declares one, then SyncConfig's default. Secrets are not settings: the
proxy account comes from environment variables only (`proxy_from_env`), read here and nowhere else.
Plain Python: the Dagster resource (`resources.SyncResource`) is generated from the same declarations.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any

from boardsync_dagster.engine.config import SECTIONS, SyncConfig, type_name
from boardsync_dagster.engine.errors import ConfigError
from boardsync_dagster.engine.proxy import ProxySettings

# The proxy account, from the environment only: run config and flags never carry a secret.
SECRET_ENV = {
    "proxy_api": "BOARDSYNC_PROXY_API",
    "proxy_url": "BOARDSYNC_PROXY_URL",
    "user": "BOARDSYNC_PROXY_USER",
    "password": "BOARDSYNC_PROXY_PASSWORD",
}


def fields(cls: type = SyncConfig) -> Iterator[dataclasses.Field]:
    """The declared settings of cls (SyncConfig; a test passes an extended one to prove the generators generic)."""
    yield from dataclasses.fields(cls)


def kind_of(f: dataclasses.Field) -> str:
    """bool, int, float, str or codes (a tuple of codes), from the field's annotation."""
    text = type_name(f)
    for kind in ("bool", "int", "float", "tuple", "str"):
        if text.startswith(kind):
            return "codes" if kind == "tuple" else kind
    raise TypeError(f"SyncConfig.{f.name}: unsupported type {text}")


def parse(f: dataclasses.Field, text: str) -> Any:
    """A value of field f from text (a flag or an environment variable); ConfigError names the field."""
    kind = kind_of(f)
    try:
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "codes":
            return tuple(code.strip() for code in text.split(",") if code.strip())
        return text
    except ValueError:
        raise ConfigError(f"SyncConfig.{f.name}: {text!r} is not {kind_name(kind)}") from None


def kind_name(kind: str) -> str:
    return {
        "bool": "true or false",
        "int": "an integer",
        "float": "a number",
        "codes": "comma-separated codes",
    }.get(kind, "a text")


def resolve(given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> SyncConfig:
    """The validated SyncConfig: given values (None = not given), then declared environment variables, then the
    defaults. Raises ConfigError naming the field."""
    values = {f.name: resolve_one(f, given.get(f.name), environ) for f in fields()}
    return SyncConfig(**values).validate()


def resolve_one(f: dataclasses.Field, given: Any, environ: Mapping[str, str] | None = None) -> Any:
    """One setting by the rule: the value given, else its environment variable, else its default (unvalidated)."""
    environ = os.environ if environ is None else environ
    env = f.metadata["env"]
    if given is None and env and environ.get(env):
        given = parse(f, environ[env])
    if given is None:
        return f.default
    return tuple(given) if kind_of(f) == "codes" else given


def proxy_from_env(config: SyncConfig, environ: Mapping[str, str] | None = None) -> ProxySettings:
    """The proxy account: a vendor URL, a fixed proxy or tunnel, or nothing (direct, also when config.direct)."""
    environ = os.environ if environ is None else environ
    if config.direct:
        return ProxySettings(vendor_format=config.vendor_format)
    secrets = {name: environ.get(var) or None for name, var in SECRET_ENV.items()}
    return ProxySettings(**secrets, vendor_format=config.vendor_format).validate()


# --- the command line ---------------------------------------------------------------------------------------


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def default_value(f: dataclasses.Field) -> str:
    value = f.default
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def default_text(f: dataclasses.Field) -> str:
    """'default 45 s; env X', as the CLI help and the resource schema say it."""
    meta, shown = f.metadata, default_value(f)
    unit = " s" if meta["unit"] == "s" and shown != "none" else ""
    env = f"; env {meta['env']}" if meta["env"] else ""
    return f"default {shown}{unit}{env}"


def add_arguments(parser: argparse.ArgumentParser, cls: type = SyncConfig) -> None:
    """One flag per setting (--max-ips ...), grouped by section; advanced ones in groups of their own."""
    groups: dict[tuple[str, bool], argparse._ArgumentGroup] = {}
    for f in fields(cls):
        meta = f.metadata
        key = (meta["section"], meta["advanced"])
        if key not in groups:
            title = f"{meta['section']} settings" + (" (advanced)" if meta["advanced"] else "")
            groups[key] = parser.add_argument_group(title)
        help_text = f"{meta['help']} ({default_text(f)})".replace("%", "%%")
        kind = kind_of(f)
        if kind == "bool":
            groups[key].add_argument(
                flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            choices = meta["choices"] or None
            groups[key].add_argument(
                flag(f.name),
                type=str,
                default=None,
                choices=choices,
                metavar=None if choices else {"str": "TEXT"}.get(kind, kind.upper()),
                help=help_text,
            )


def given_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, parsed to their types (absent flags are left out)."""
    given: dict[str, Any] = {}
    for f in fields():
        value = getattr(args, f.name, None)
        if value is None:
            continue
        given[f.name] = value if isinstance(value, bool) else parse(f, value)
    return given


# --- the docs ----------------------------------------------------------------------------------------------


def markdown_table(cls: type = SyncConfig) -> str:
    """The settings table of docs/settings.md, by section."""
    lines = []
    for section in SECTIONS:
        lines += [
            "",
            f"### {section}",
            "",
            "| setting | flag | environment | default | unit | what |",
            "|---|---|---|---|---|---|",
        ]
        for f in fields(cls):
            meta = f.metadata
            if meta["section"] != section:
                continue
            name = f"`{f.name}`" + (" (advanced)" if meta["advanced"] else "")
            env = f"`{meta['env']}`" if meta["env"] else ""
            default = f"`{default_value(f)}`"
            lines.append(
                f"| {name} | `{flag(f.name)}` | {env} | {default} | {meta['unit']} | {meta['help']} |"
            )
    return "\n".join(lines).lstrip("\n") + "\n"


def described(f: dataclasses.Field) -> str:
    """The help of one setting with its default, for the Dagster config schema."""
    return f"{f.metadata['help']} ({default_text(f)})"
