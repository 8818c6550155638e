"""Parse a proxy vendor's extraction answer: plain text, Zhima-like or Kuaidaili-like JSON, detected or named.

The result is either proxies or one classified refusal; garbage is a refusal of kind UNUSABLE, never an exception.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum

from boardsync_dagster.engine.clock import SHANGHAI

FORMATS = ("auto", "text", "zhima", "kuaidaili", "xiaoxiang")


class Refusal(StrEnum):
    TOO_FAST = "too_fast"
    QUOTA = "quota"
    AUTH = "auth"  # bad key, account invalid or expired, whitelist missing
    UNUSABLE = "unusable"  # unknown format, garbage IP or port, expiry in the past


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    # Wall-clock expiry as the vendor states it, if it does (an absolute time, or now + seconds left).
    expires_at: dt.datetime | None = None


@dataclass
class VendorAnswer:
    endpoints: list[Endpoint] = field(default_factory=list)
    refusal: Refusal | None = None
    message: str = ""


# Keywords of vendors' free-text errors, checked in this order (a quota message may also say "please wait").
KEYWORDS: tuple[tuple[Refusal, tuple[str, ...]], ...] = (
    (
        Refusal.AUTH,
        ("白名单", "whitelist", "密钥", "key", "授权", "认证", "账号", "账户", "过期", "auth", "invalid"),
    ),
    (Refusal.QUOTA, ("余额", "套餐", "上限", "用完", "配额", "额度", "quota", "limit", "exhaust")),
    (Refusal.TOO_FAST, ("秒后再试", "频繁", "太快", "过快", "too fast", "too many", "slow down", "retry")),
)
ZHIMA_CODES = {111: Refusal.TOO_FAST, 113: Refusal.AUTH, 114: Refusal.QUOTA, 115: Refusal.QUOTA,
               116: Refusal.QUOTA, 117: Refusal.AUTH, 118: Refusal.AUTH, 121: Refusal.AUTH}  # fmt: skip
IP_PORT = re.compile(r"^\s*([0-9.]+):([0-9]+)\s*(?:,\s*([0-9]+))?\s*$")


def parse_answer(text: str, fmt: str, now: dt.datetime) -> VendorAnswer:
    """now (aware) turns relative lifetimes into expiry times."""
    text = text.strip().lstrip("\ufeff")
    if fmt == "auto":
        fmt = detect(text)
    if fmt == "text":
        return _text(text, now)
    try:
        doc = json.loads(text)
    except ValueError:
        return _refusal_from_text(text, fallback=Refusal.UNUSABLE)
    if not isinstance(doc, dict):
        return VendorAnswer(refusal=Refusal.UNUSABLE, message=f"JSON answer is a {type(doc).__name__}")
    if fmt == "kuaidaili":
        return _kuaidaili(doc, now)
    if fmt in ("zhima", "xiaoxiang"):
        return _zhima(doc, now)
    return VendorAnswer(refusal=Refusal.UNUSABLE, message=f"unknown vendor_format {fmt!r}")


def detect(text: str) -> str:
    if not text.startswith("{"):
        return "text"
    try:
        doc = json.loads(text)
    except ValueError:
        return "text"
    data = doc.get("data") if isinstance(doc, dict) else None
    if isinstance(data, dict) and "proxy_list" in data:
        return "kuaidaili"
    return "zhima"


def _text(text: str, now: dt.datetime) -> VendorAnswer:
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    if not lines:
        return VendorAnswer(refusal=Refusal.UNUSABLE, message="empty answer")
    if not all(IP_PORT.match(line) for line in lines):
        return _refusal_from_text(text, fallback=Refusal.UNUSABLE)
    return _endpoints([_from_ip_port(line, now) for line in lines])


def _from_ip_port(item: str, now: dt.datetime) -> Endpoint | str:
    m = IP_PORT.match(item)
    if not m:
        return f"not ip:port: {item[:40]!r}"
    host, port, seconds_left = m.group(1), int(m.group(2)), m.group(3)
    expires = now + dt.timedelta(seconds=int(seconds_left)) if seconds_left is not None else None
    return _endpoint(host, port, expires, now)


def _endpoint(host: object, port: object, expires: dt.datetime | None, now: dt.datetime) -> Endpoint | str:
    try:
        ip = ipaddress.IPv4Address(str(host))
    except ValueError:
        return f"not an IPv4 address: {str(host)[:40]!r}"
    if ip.is_unspecified or ip.is_multicast:
        return f"unusable address {ip}"
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        return f"bad port {str(port)[:20]!r}"
    if expires is not None and expires <= now:
        return f"expiry {expires.isoformat()} is not after now {now.isoformat()} (clock or timezone wrong?)"
    return Endpoint(str(ip), port, expires)


def _endpoints(items: list[Endpoint | str]) -> VendorAnswer:
    bad = [i for i in items if isinstance(i, str)]
    if bad or not items:
        return VendorAnswer(refusal=Refusal.UNUSABLE, message=bad[0] if bad else "no proxies in the answer")
    return VendorAnswer(endpoints=[i for i in items if isinstance(i, Endpoint)])


def _zhima(doc: dict, now: dt.datetime) -> VendorAnswer:
    code = doc.get("code")
    data = doc.get("data")
    ok = code in (0, 200) and doc.get("success", True) is not False and isinstance(data, list)
    if not ok:
        # Vendors reuse codes with other meanings; the message is the better witness, the code the fallback.
        return _refusal(doc, ZHIMA_CODES.get(code) if isinstance(code, int) else None)
    items: list[Endpoint | str] = []
    for entry in data:
        if not isinstance(entry, dict):
            items.append(f"entry is {type(entry).__name__}")
            continue
        expires = _beijing_time(entry.get("expire_time"))
        if isinstance(expires, str):
            items.append(expires)
            continue
        items.append(_endpoint(entry.get("ip"), entry.get("port"), expires, now))
    return _endpoints(items)


def _kuaidaili(doc: dict, now: dt.datetime) -> VendorAnswer:
    data = doc.get("data")
    if doc.get("code") != 0 or not isinstance(data, dict) or not isinstance(data.get("proxy_list"), list):
        return _refusal(doc, None)
    items = [
        _from_ip_port(p, now) if isinstance(p, str) else f"entry is {type(p).__name__}"
        for p in data["proxy_list"]
    ]
    return _endpoints(items)


def _beijing_time(value: object) -> dt.datetime | None | str:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        return f"expire_time {str(value)[:30]!r} is not a time"
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return f"expire_time {value[:30]!r} is not YYYY-MM-DD HH:MM:SS"


def _refusal(doc: dict, by_code: Refusal | None) -> VendorAnswer:
    message = str(doc.get("msg") or doc.get("message") or doc.get("info") or "")
    found = _refusal_from_text(message, fallback=by_code or Refusal.UNUSABLE)
    if not message:
        found.message = f"code {str(doc.get('code'))[:20]} without a message"
    return found


def _refusal_from_text(text: str, fallback: Refusal) -> VendorAnswer:
    lowered = text.lower()
    for refusal, words in KEYWORDS:
        if any(w in lowered for w in words):
            return VendorAnswer(refusal=refusal, message=text)
    # Uncut: the ProxyManager masks secrets first and shortens after, so no secret is ever cut in two.
    return VendorAnswer(refusal=fallback, message=f"unrecognised answer: {text!r}")
