"""The Eastmoney push2 server: GET /api/qt/clist/get, with the profile's faults and per-IP bans."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

from boardsync_dagster.simulator import clist
from boardsync_dagster.simulator.bans import BanList
from boardsync_dagster.simulator.httpbase import LoopbackServer, QuietHandler
from boardsync_dagster.simulator.runtime import Runtime

CLIST_PATH = "/api/qt/clist/get"
_JSON = "application/json; charset=UTF-8"
_FORBIDDEN = b"<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center></body></html>"
_TOO_MANY = b"<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center></body></html>"
_BAD_GATEWAY = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"


class EastmoneyServer(LoopbackServer):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(_Handler)
        self.runtime = runtime
        self.bans = BanList()


class _Handler(QuietHandler):
    server: EastmoneyServer
    server_version = "nginx"
    sys_version = ""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != CLIST_PATH:
            self.reply(404, b"", "text/html")
            return
        rt = self.server.runtime
        rt.stats.add("sources", self.client_address[0])
        self._serve(rt, {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()})

    def _serve(self, rt: Runtime, params: dict[str, str]) -> None:
        profile = rt.profile
        if rt.ban_all or not self.server.bans.admit(
            self.client_address[0], time.monotonic(), profile.ban, rt.scale
        ):
            self._banned(rt, "reset" if rt.ban_all else profile.ban.style)
            return
        if rt.pause(profile.latency):
            self._done(rt, "drop")
            return

        roll = rt.chance()
        fault = None
        for name in ("drop", "http502", "slow", "truncated", "null_data"):
            roll -= getattr(profile, name)
            if roll < 0:
                fault = name
                break
        if fault in ("drop", "http502"):
            self._done(rt, fault)
            return
        if fault == "slow" and rt.pause(profile.slow_delay):
            self._done(rt, "slow")  # stopping: give up the slow reply
            return

        answer = clist.answer(
            rt.state, clist.Query.from_params(params), rt.tick() if profile.prices_move else None
        )
        data = answer.data
        kind = fault or "ok"
        if fault == "null_data":
            if answer.board is None:
                kind = "ok"  # only a real board's page comes back null by accident
            else:
                data = None
        elif data is None:
            kind = "unknown"
        body = _envelope(data, params.get("cb"))
        if fault == "truncated":
            body = body[: len(body) // 2]
        self._done(rt, kind, body)

    def _banned(self, rt: Runtime, style: str) -> None:
        rt.stats.add("replies", "banned")
        if style == "403":
            self.reply(403, _FORBIDDEN, "text/html")
        elif style == "429":
            # Retry-After as a real service would send it; the ban outlasts the IP, so waiting does not help.
            self.reply(429, _TOO_MANY, "text/html", {"Retry-After": "600"})
        else:
            self.drop()

    def _done(self, rt: Runtime, kind: str, body: bytes | None = None) -> None:
        """Count the reply first, so that a client which has its reply also sees it in the stats."""
        rt.stats.add("replies", kind)
        if kind == "http502":
            self.reply(502, _BAD_GATEWAY, "text/html")
        elif body is None:
            self.drop()
        else:
            self.reply(200, body, _JSON)


def _envelope(data: dict | None, callback: str | None) -> bytes:
    text = json.dumps(
        {"rc": 0, "rt": 6, "svr": 181669432, "lt": 1, "full": 1, "dlmkts": "", "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if callback:  # JSONP, as the web page asks for it
        text = f"{callback}({text});"
    return text.encode("utf-8")
