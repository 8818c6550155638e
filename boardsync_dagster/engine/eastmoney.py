"""The Eastmoney clist client: builds the requests, and turns every failure into one classified FetchError."""

from __future__ import annotations

import http.client
import re

import requests
import urllib3

from boardsync_dagster.engine.errors import ErrorClass, FetchError
from boardsync_dagster.engine.parse import Page, bytes_head, parse_boards, parse_members
from boardsync_dagster.engine.types import BoardKind

CLIST_PATH = "/api/qt/clist/get"
BOARD_FILTERS = {BoardKind.INDUSTRY: "m:90 t:2 f:!50", BoardKind.CONCEPT: "m:90 t:3 f:!50"}
FIELDS = "f12,f13,f14"
# How urllib3 and http.client report a CONNECT tunnel refused with 407. A bare "407" is not enough: every exception
# message carries the proxy's address and the URL, and ports (…:40712) and board codes (BK0407) contain it.
TUNNEL_407 = re.compile(r"Tunnel connection failed: 407\b")

Proxies = dict[str, str] | None


class EastmoneyClient:
    """Stateless apart from its settings, so every worker thread can share one. Each call names its proxy."""

    def __init__(self, base_url: str, timeout: float, page_size: int = 100) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"EastmoneyClient({self.base_url!r}, timeout={self.timeout})"

    def board_list_page(self, kind: BoardKind, page: int, proxies: Proxies) -> Page:
        body = self._get(BOARD_FILTERS[kind], page, proxies)
        return body if isinstance(body, Page) else parse_boards(body, self.page_size, kind)

    def member_page(self, board_code: str, page: int, proxies: Proxies) -> Page:
        body = self._get(f"b:{board_code} f:!50", page, proxies)
        return body if isinstance(body, Page) else parse_members(body, self.page_size)

    def params(self, fs: str, page: int) -> dict[str, str | int]:
        # fid=f12: sorting by the code keeps rows on their pages; sorting by price change (f3) moves them.
        return {
            "pn": page,
            "pz": self.page_size,
            "po": 1,
            "np": 1,
            "fltt": 2,
            "invt": 2,
            "fid": "f12",
            "fs": fs,
            "fields": FIELDS,
        }

    def _get(self, fs: str, page: int, proxies: Proxies) -> bytes | Page:
        try:
            with requests.Session() as session:
                session.trust_env = False  # only the proxy we are given, never one from the environment
                resp = session.get(
                    self.base_url + CLIST_PATH,
                    params=self.params(fs, page),
                    proxies=proxies or {},
                    timeout=self.timeout,
                )
                body = resp.content
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
        ) as exc:
            return Page(error=classify_exception(exc))
        if resp.status_code != 200:
            return Page(error=classify_status(resp.status_code, body))
        return body


def classify_exception(exc: BaseException) -> FetchError:
    """Exception messages carry URLs (with proxy credentials): keep only the type and a safe reason."""
    text = str(exc)
    name = type(exc).__name__
    if isinstance(exc, requests.Timeout):
        return FetchError(ErrorClass.TIMEOUT, name)
    if isinstance(exc, requests.exceptions.ProxyError) and TUNNEL_407.search(text):
        return FetchError(ErrorClass.PROXY_AUTH, "proxy answered 407 (authentication required)")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return FetchError(ErrorClass.INVALID_JSON, f"truncated body ({name})")
    return FetchError(ErrorClass.CONNECTION, f"{name}: {_reason(text)}")


def classify_status(status: int, body: bytes) -> FetchError:
    if status == 407:
        return FetchError(ErrorClass.PROXY_AUTH, "proxy answered 407 (authentication required)")
    if 500 <= status < 600:
        return FetchError(ErrorClass.HTTP_5XX, f"HTTP {status}")
    return FetchError(ErrorClass.HTTP_STATUS, f"HTTP {status} {bytes_head(body)!r}")


KNOWN_REASONS = (
    "RemoteDisconnected",
    "Connection refused",
    "Connection reset",
    "Connection aborted",
    "Unable to connect to proxy",
    "Remote end closed connection",
    "Name or service not known",
    "No route to host",
)


def _reason(text: str) -> str:
    for reason in KNOWN_REASONS:
        if reason in text:
            return reason
    return "connection failed"
