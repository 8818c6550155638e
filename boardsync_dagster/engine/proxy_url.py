"""A fixed proxy's address as vendors hand it out, read without ever echoing it.

Vendors give `user:pass@host:port` (no scheme) as often as `http://user:pass@host:port`, and their passwords carry
`/ @ : %`, which urlsplit misreads (the password becomes a path or a port, and its error quotes it). This reads the
credentials by position instead (user up to the first `:`, host after the last `@`) and writes them back quoted.
Errors name the field and the expected shape, never the value: any part of it may be the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from boardsync_dagster.engine.errors import ConfigError

SHAPE = "[http://][user:password@]host:port"
SCHEMES = ("http", "https")
SCHEME_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# A host name, an IPv4 address or a bracketed IPv6 address; nothing that could be a piece of a password.
HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$")


@dataclass(frozen=True)
class ProxyAddress:
    scheme: str
    host: str
    port: int
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def url(self) -> str:
        """The address as requests wants it: credentials URL-quoted, so `/ @ : %` in them survive."""
        auth = f"{quote(self.user, safe='')}:{quote(self.password or '', safe='')}@" if self.user else ""
        return f"{self.scheme}://{auth}{self.host}:{self.port}"


def parse_proxy_url(value: str, name: str = "proxy_url") -> ProxyAddress:
    """`value` as a proxy address; ConfigError naming `name` and the expected shape (never the value) if it is none.

    Credentials are URL-unquoted (`p%40ss` is `p@ss`, as in any URL); a `%` not followed by two hex digits stays
    a `%`. A password with `%XX` in it literally belongs in BOARDSYNC_PROXY_PASSWORD, which is taken as is.
    """

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"{name}: {why}; expected {SHAPE} (value not shown: it may hold a password)")

    rest = value.strip()
    scheme = "http"
    given = SCHEME_PREFIX.match(rest)  # a user name holds no ':', so `alice:pa://ss@...` is no scheme
    if given:
        scheme, rest = given.group(1).lower(), rest[given.end() :]
        if scheme not in SCHEMES:
            raise refuse("the scheme must be http or https")
    userinfo, at, hostport = rest.rpartition("@")
    hostport = hostport.rstrip("/")
    host, colon, port = hostport.rpartition(":")
    if not colon or not HOST.match(host):
        raise refuse("no host:port after the credentials")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise refuse("the port must be a number from 1 to 65535")
    if not at:
        return ProxyAddress(scheme, host, int(port))
    user, colon, password = userinfo.partition(":")
    if not user or not colon or not password:
        raise refuse("the credentials must be user:password")
    return ProxyAddress(scheme, host, int(port), unquote(user), unquote(password))


def is_http_url(value: str) -> bool:
    """An http(s) URL with a host (the vendor's extraction URL), judged without raising on odd ports."""
    try:
        parts = urlsplit(value.strip())
        return parts.scheme in SCHEMES and bool(parts.hostname)
    except ValueError:
        return False
