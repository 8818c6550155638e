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
        ip = self.client_address[0]
        window, duration = rt.seconds(profile.ban_window), rt.seconds(profile.ban_duration)
        if rt.ban_all or not self.server.bans.admit(
            ip, time.monotonic(), profile.ban_requests, window, duration
        ):
            self._done(rt, "banned")
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
