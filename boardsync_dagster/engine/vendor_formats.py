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
    UNKNOWN = "unknown"  # the vendor said no in words we cannot read: retried with back-off, never quota
    UNUSABLE = "unusable"  # unknown format, garbage IP or port


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


# Keywords of vendors' free-text errors, for answers without a code we know. Too fast is checked first: "Rate limit
# exceeded, please slow down" or "Too many requests for this key" are about pace, not quota or the key. Only words
# that name the daily quota count as quota: a misread quota marks the day spent and blocks every later run.
KEYWORDS: tuple[tuple[Refusal, tuple[str, ...]], ...] = (
    (
        Refusal.TOO_FAST,
        (
            "秒后再试",
            "频繁",
            "频率",
            "太快",
            "过快",
            "too fast",
            "too many",
            "slow down",
            "rate limit",
            "retry",
        ),
    ),
    (Refusal.AUTH, ("白名单", "whitelist", "密钥", "key", "授权", "认证", "账号", "账户", "过期", "auth")),
    (Refusal.QUOTA, ("余额", "用完", "配额", "额度", "上限", "quota")),
)
# The vendor's own codes decide when it gives one we know (the simulator's contract, simulator/formats.py).
CODES: dict[str, dict[int, Refusal]] = {
    "zhima": {111: Refusal.TOO_FAST, 113: Refusal.AUTH, 114: Refusal.QUOTA, 115: Refusal.QUOTA,
              116: Refusal.QUOTA, 117: Refusal.AUTH, 118: Refusal.AUTH, 121: Refusal.QUOTA},
    "kuaidaili": {-51: Refusal.TOO_FAST, -10: Refusal.AUTH, -5: Refusal.QUOTA, -1: Refusal.AUTH},
}  # fmt: skip
HTML = re.compile(r"<\s*(html|head|body|!doctype)", re.IGNORECASE)
IP_PORT = re.compile(r"^\s*([0-9.]+):([0-9]+)\s*(?:,\s*([0-9]+))?\s*$")


def parse_answer(text: str, fmt: str, now: dt.datetime) -> VendorAnswer:
    """now (aware) turns relative lifetimes into expiry times."""
    text = text.strip().lstrip("\ufeff")
    # Detected from a refusal, zhima and kuaidaili look alike: their codes do not overlap, so both tables apply.
    codes = {**CODES["zhima"], **CODES["kuaidaili"]} if fmt == "auto" else CODES.get(fmt, {})
    if fmt == "auto":
        fmt = detect(text)
    if fmt == "text":
        return _text(text, now)
    try:
        doc = json.loads(text)
    except ValueError:
        return _refusal_from_text(text)
    if not isinstance(doc, dict):
        return VendorAnswer(refusal=Refusal.UNUSABLE, message=f"JSON answer is a {type(doc).__name__}")
    if fmt == "kuaidaili":
        return _kuaidaili(doc, now, codes)
    if fmt in ("zhima", "xiaoxiang"):
        return _zhima(doc, now, codes)
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
        return _refusal_from_text(text)
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
    return Endpoint(str(ip), port, expires)


def _endpoints(items: list[Endpoint | str]) -> VendorAnswer:
    bad = [i for i in items if isinstance(i, str)]
    if bad or not items:
        return VendorAnswer(refusal=Refusal.UNUSABLE, message=bad[0] if bad else "no proxies in the answer")
    return VendorAnswer(endpoints=[i for i in items if isinstance(i, Endpoint)])


def _zhima(doc: dict, now: dt.datetime, codes: dict[int, Refusal]) -> VendorAnswer:
    code = doc.get("code")
    data = doc.get("data")
    ok = code in (0, 200) and doc.get("success", True) is not False and isinstance(data, list)
    if not ok:
        return _refusal(doc, codes)
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


def _kuaidaili(doc: dict, now: dt.datetime, codes: dict[int, Refusal]) -> VendorAnswer:
    data = doc.get("data")
    if doc.get("code") != 0 or not isinstance(data, dict) or not isinstance(data.get("proxy_list"), list):
        return _refusal(doc, codes)
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


def _refusal(doc: dict, codes: dict[int, Refusal]) -> VendorAnswer:
    """A JSON answer that issued nothing: the vendor's code decides when we know it; else its words; else UNKNOWN
    when it gave a code or a message (it said no), UNUSABLE when it gave neither (not an answer we know)."""
    code = doc.get("code")
    message = str(doc.get("msg") or doc.get("message") or doc.get("info") or "")
    shown = message or f"code {str(code)[:20]} without a message"
    if isinstance(code, int) and code in codes:
        return VendorAnswer(refusal=codes[code], message=shown)
    found = _by_keywords(message)
    if found is not None:
        return VendorAnswer(refusal=found, message=message)
    said_no = code is not None or message
    return VendorAnswer(
        refusal=Refusal.UNKNOWN if said_no else Refusal.UNUSABLE, message=f"unrecognised answer: {shown}"
    )


def _refusal_from_text(text: str) -> VendorAnswer:
    """Plain text that is no list of proxies: a refusal in words, or (HTML, nothing) not a vendor answer at all."""
    found = _by_keywords(text)
    if found is not None:
        return VendorAnswer(refusal=found, message=text)
    # Words are a refusal we cannot read; markup, numbers or nothing are no answer at all.
    garbage = HTML.search(text) is not None or not any(c.isalpha() for c in text)
    # Uncut: the ProxyManager masks secrets first and shortens after, so no secret is ever cut in two.
    return VendorAnswer(
        refusal=Refusal.UNUSABLE if garbage else Refusal.UNKNOWN, message=f"unrecognised answer: {text!r}"
    )


def _by_keywords(text: str) -> Refusal | None:
    lowered = text.lower()
    for refusal, words in KEYWORDS:
        if any(w in lowered for w in words):
            return refusal
    return None
