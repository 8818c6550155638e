"""Keep the vendor key and the proxy credentials out of every message the engine produces."""

from __future__ import annotations

import logging
import re
import weakref
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


class _LibraryLogRedaction(logging.Filter):
    """urllib3 logs every URL it fetches at DEBUG, the vendor key included: mask known secrets in its records.

    Logging is process-global, so this filter is too; it holds the redactors weakly and only ever masks text.
    """

    def __init__(self) -> None:
        super().__init__()
        self.redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        redactors = list(self.redactors)
        if redactors:
            text = record.getMessage()
            for redact in redactors:
                text = redact(text)
            record.msg, record.args = text, None
        return True


_LIBRARY_FILTER = _LibraryLogRedaction()
LIBRARY_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests")


def redact_library_logs(redactor: Redactor) -> None:
    _LIBRARY_FILTER.redactors.add(redactor)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _LIBRARY_FILTER not in logger.filters:
            logger.addFilter(_LIBRARY_FILTER)
