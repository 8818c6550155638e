"""How each vendor style writes an answer: the issued proxies, or a refusal in its own words and codes.

| reason    | text                  | zhima      | kuaidaili  |
|-----------|-----------------------|------------|------------|
| too_fast  | 请N秒后再试            | code 111   | code -51   |
| whitelist | 请将IP添加到白名单      | code 113   | code -10   |
| quota     | 今日提取数量已用完      | code 121   | code -5    |
| bad_key   | key错误或已失效         | code 117   | code -1    |
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

from boardsync_dagster.simulator.proxies import ProxyInfo

BEIJING = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving
FORMATS = ("text", "zhima", "kuaidaili")

Reply = tuple[str, bytes]  # content type, body; vendors answer refusals with HTTP 200 too

_MESSAGES = {
    "too_fast": "请{wait}秒后再试",
    "whitelist": "请将{client}添加到白名单",
    "quota": "今日提取数量已用完",
    "bad_key": "key错误或已失效",
}
_ZHIMA_CODES = {"too_fast": 111, "whitelist": 113, "quota": 121, "bad_key": 117}
_KUAIDAILI_CODES = {"too_fast": -51, "whitelist": -10, "quota": -5, "bad_key": -1}


def success(fmt: str, proxies: list[ProxyInfo], now_wall: float) -> Reply:
    if fmt == "text":
        return "text/plain; charset=utf-8", "\r\n".join(f"{p.ip}:{p.port}" for p in proxies).encode()
    if fmt == "zhima":
        data = [{"ip": p.ip, "port": p.port, "expire_time": _beijing(p.expires_wall)} for p in proxies]
        return _json({"code": 0, "success": True, "msg": "0", "data": data})
    if fmt == "kuaidaili":
        # Seconds left rounded down, so a client that trusts it never outlives the proxy.
        listed = [f"{p.ip}:{p.port},{max(0, math.floor(p.expires_wall - now_wall))}" for p in proxies]
        return _json({"code": 0, "msg": "", "data": {"count": len(listed), "proxy_list": listed}})
    raise ValueError(f"unknown vendor format {fmt!r}; known: {', '.join(FORMATS)}")


def refusal(fmt: str, reason: str, wait_s: float, client: str) -> Reply:
    message = _MESSAGES[reason].format(wait=max(1, math.ceil(wait_s)), client=client)
    if fmt == "text":
        return "text/plain; charset=utf-8", message.encode()
    if fmt == "zhima":
        return _json({"code": _ZHIMA_CODES[reason], "success": False, "msg": message, "data": []})
    return _json({"code": _KUAIDAILI_CODES[reason], "msg": message})


def _beijing(wall: float) -> str:
    return datetime.fromtimestamp(wall, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _json(payload: dict) -> Reply:
    return "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False).encode()
