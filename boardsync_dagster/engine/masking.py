"""Keep the vendor key and the proxy credentials out of every message the engine produces."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "***"
# Query parameters whose value is a credential. The whole query string is masked anyway; this catches a value
# quoted on its own (a vendor echoing the key back in an error, say).
SECRET_PARAM = re.compile(
    r"key|secret|token|pass|pwd|auth|sign|order|uid|user|account|neek|app", re.IGNORECASE
)


def mask_url(url: str) -> str:
    """scheme://host:port/path with user info and the whole query replaced: fit for a log line."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    userinfo = f"{MASK}@" if parts.username or parts.password else ""
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{userinfo}{host}{port}{parts.path}{query}"


class Redactor:
    """Replaces every known secret (and its URL-quoted form) by ***. Secrets shorter than 3 chars are kept out
    by masking whole URLs instead, since replacing them everywhere would shred the text."""

    def __init__(self, secrets: list[str | None] = ()) -> None:
        found: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            found.add(secret)
            found.update(_url_parts(secret))
        variants = set()
        for s in found:
            variants.update({s, quote(s, safe=""), unquote(s)})
        self._secrets = sorted((s for s in variants if len(s) >= 3), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


def _url_parts(value: str) -> list[str]:
    """The secret bits of a URL: user, password, every query value, and the query string itself."""
    if "://" not in value:
        return []
    try:
        parts = urlsplit(value)
    except ValueError:
        return []
    found = [parts.username, parts.password, parts.query]
    found += [v for k, v in parse_qsl(parts.query) if SECRET_PARAM.search(k)]
    return [f for f in found if f]
