"""Keep the vendor key and the proxy credentials out of every message the engine produces."""

from __future__ import annotations

import logging
import re
import weakref
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from boardsync_dagster.engine.proxy_url import HOST, SCHEME_PREFIX

MASK = "***"
# Query parameters whose value is a credential. The whole query string is masked anyway; this catches a value
# quoted on its own (a vendor echoing the key back in an error, say).
SECRET_PARAM = re.compile(
    r"key|secret|token|pass|pwd|auth|sign|order|uid|user|account|neek|app", re.IGNORECASE
)


def mask_url(url: str) -> str:
    """scheme://host:port/path with user info and the whole query replaced: fit for a log line."""
    if "@" in url:
        return _mask_with_credentials(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def _mask_with_credentials(url: str) -> str:
    """Only host:port, found after the last '@': a password may hold '/', '?', ':' or '@', so urlsplit's idea of
    where the host starts cannot be trusted. Anything that does not read as host:port is masked whole."""
    scheme = SCHEME_PREFIX.match(url)
    tail = url.rpartition("@")[2]
    hostport = re.split(r"[/?#]", tail, maxsplit=1)[0]
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    if not HOST.match(host) or (port and not port.isdigit()):
        return MASK
    rest = f"/{MASK}" if len(hostport) < len(tail) else ""
    return f"{scheme.group(0) if scheme else ''}{MASK}@{hostport}{rest}"


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
    found: list[str | None] = []
    if "@" in value:  # user:password@host, with or without a scheme, the password possibly holding / @ : %
        userinfo = value[len(m.group(0)) :] if (m := SCHEME_PREFIX.match(value)) else value
        user, _, password = userinfo.rpartition("@")[0].partition(":")
        found += [user, password]
    if "://" in value:
        try:
            parts = urlsplit(value)
            found += [parts.username, parts.password, parts.query]
            found += [v for k, v in parse_qsl(parts.query) if SECRET_PARAM.search(k)]
        except ValueError:
            pass
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
