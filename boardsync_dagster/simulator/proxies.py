"""The issued proxies: real forward HTTP proxies, each on its own 127.a.b.c address, dying at their TTL.

One thread accepts for every proxy and expires them; each open client connection has a thread of its own,
which ends when the connection does, so a day's 200+ proxies cost nothing once they have died.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import http.client
import ipaddress
import itertools
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from boardsync_dagster.simulator.httpbase import QuietHandler, reset, shut
from boardsync_dagster.simulator.runtime import Runtime

GOOD, DEAD, FLAKY = "good", "dead", "flaky"
_HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    )
)
# Hop-by-hop headers, and the two that reply() writes itself.
_NOT_RELAYED = _HOP_BY_HOP | {"content-length", "content-type"}


@dataclass
class ProxyInfo:
    ip: str
    port: int
    quality: str
    expires_at: float  # time.monotonic()
    expires_wall: float  # time.time(), for the vendor's expiry fields


@dataclass(eq=False)
class _Proxy:
    info: ProxyInfo
    sock: socket.socket  # listening, or only bound when the proxy refuses connections
    refuses: bool
    links: set[_Link] = field(default_factory=set)
    alive: bool = True


@dataclass(eq=False)
class _Link:
    client: socket.socket
    upstream: http.client.HTTPConnection | None = None

    def kill(self) -> None:
        reset(self.client)
        shut(self.client)
        if self.upstream is not None and self.upstream.sock is not None:
            shut(self.upstream.sock)


class ProxyFleet:
    def __init__(self, runtime: Runtime, upstream: tuple[str, int], auth: tuple[str, str] | None) -> None:
        self.runtime = runtime
        self.upstream = upstream
        self.expected_auth = (
            "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() if auth else None
        )
        self._lock = threading.Lock()
        self._live: dict[int, _Proxy] = {}
        self._expiries: list[tuple[float, int]] = []
        self._pending: list[_Proxy] = []
        self._ids = itertools.count()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopped = False

    def start(self) -> None:
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="sim-proxies", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._wake()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._stopped = True
            for proxy in list(self._live.values()) + self._pending:
                self._kill(proxy)
            self._live.clear()
            self._pending.clear()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def issue(self, quality: str, ttl: float, refuses: bool = False) -> ProxyInfo:
        """A new proxy living ttl real seconds. A dead one refuses connections (refuses) or drops every request."""
        n = next(self._ids)
        ip = _address(n)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((ip, 0))
        if not refuses:
            sock.listen(64)
            sock.setblocking(False)
        now_mono, now_wall = time.monotonic(), time.time()
        info = ProxyInfo(ip, sock.getsockname()[1], quality, now_mono + ttl, now_wall + ttl)
        proxy = _Proxy(info, sock, refuses)
        with self._lock:
            if self._stopped:
                # A vendor call still in flight when the simulator stopped: its proxy must not outlive stop().
                sock.close()
                return info
            self._live[n] = proxy
            heapq.heappush(self._expiries, (info.expires_at, n))
            if not refuses:
                self._pending.append(proxy)
        self._wake()
        return info

    def live(self) -> int:
        with self._lock:
            return len(self._live)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _loop(self) -> None:
        while self._running:
            with self._lock:
                for proxy in self._pending:
                    if proxy.alive:
                        self._selector.register(proxy.sock, selectors.EVENT_READ, proxy)
                self._pending.clear()
                timeout = max(0.0, self._expiries[0][0] - time.monotonic()) if self._expiries else None
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    self._drain_wake()
                else:
                    self._accept(key.data)
            self._expire(time.monotonic())

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self, proxy: _Proxy) -> None:
        try:
            client, _ = proxy.sock.accept()
        except OSError:
            return
        client.setblocking(True)
        link = _Link(client)
        with self._lock:
            if not proxy.alive:
                client.close()
                return
            proxy.links.add(link)
        threading.Thread(target=self._serve, args=(proxy, link), daemon=True).start()

    def _serve(self, proxy: _Proxy, link: _Link) -> None:
        try:
            _ProxyHandler(link.client, link.client.getpeername(), _Context(self, proxy, link))
        except OSError:
            pass  # the proxy died under the connection, or the client left
        finally:
            with self._lock:
                proxy.links.discard(link)
            if link.upstream is not None:
                link.upstream.close()
            link.client.close()

    def _expire(self, now: float) -> None:
        with self._lock:
            while self._expiries and self._expiries[0][0] <= now:
                _, n = heapq.heappop(self._expiries)
                proxy = self._live.pop(n, None)
                if proxy is not None:
                    self._kill(proxy)
                    self.runtime.stats.add("proxies", "expired")

    def _kill(self, proxy: _Proxy) -> None:
        """Stop listening and reset every open connection. Called with the lock held."""
        proxy.alive = False
        if not proxy.refuses:
            with contextlib.suppress(KeyError, ValueError):  # still pending, or the selector is closed
                self._selector.unregister(proxy.sock)
        proxy.sock.close()
        for link in list(proxy.links):
            link.kill()


@dataclass
class _Context:
    """What a handler sees as its `server`."""

    fleet: ProxyFleet
    proxy: _Proxy
    link: _Link


class _ProxyHandler(QuietHandler):
    server: _Context  # type: ignore[assignment]

    def do_GET(self) -> None:
        fleet, proxy = self.server.fleet, self.server.proxy
        rt = fleet.runtime
        rt.stats.add("proxies", "requests")
        if proxy.info.quality == DEAD:
            rt.stats.add("proxies", "dropped_dead")
            self.drop()
            return
        if proxy.info.quality == FLAKY and rt.chance() < rt.profile.flaky_fail:
            rt.stats.add("proxies", "dropped_flaky")
            self.drop()
            return
        if fleet.expected_auth is not None and self.headers.get("Proxy-Authorization") != fleet.expected_auth:
            rt.stats.add("proxies", "auth_failed")
            body = b"Proxy Authentication Required"
            self.reply(407, body, "text/plain", {"Proxy-Authenticate": 'Basic realm="proxy"'})
            return
        self._forward()

    def _forward(self) -> None:
        fleet, proxy, link = self.server.fleet, self.server.proxy, self.server.link
        target = urlsplit(self.path)
        host, port = target.hostname or "", target.port or 80
        host = "127.0.0.1" if host == "localhost" else host  # the source address is IPv4
        if target.scheme != "http" or not _is_loopback(host):
            self.reply(502, b"only loopback targets in the simulator", "text/plain")
            return
        if link.upstream is None or (link.upstream.host, link.upstream.port) != (host, port):
            if link.upstream is not None:
                link.upstream.close()
            link.upstream = http.client.HTTPConnection(
                host, port, timeout=600, source_address=(proxy.info.ip, 0)
            )
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        path = target.path + (f"?{target.query}" if target.query else "")
        try:
            link.upstream.request("GET", path, headers=headers)
            response = link.upstream.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            # Eastmoney hung up (a ban, a drop): pass the silence on, as real proxies do.
            link.upstream.close()
            fleet.runtime.stats.add("proxies", "upstream_dropped")
            self.drop()
            return
        fleet.runtime.stats.add("proxies", "forwarded")
        relayed = {k: v for k, v in response.getheaders() if k.lower() not in _NOT_RELAYED}
        self.reply(response.status, body, response.getheader("Content-Type", "text/plain"), relayed)


def _address(n: int) -> str:
    """127.a.b.c, a different one per issued proxy, never 127.0.x.x (127.0.0.1 is the servers')."""
    a, rest = 1 + (n // (256 * 254)) % 254, n % (256 * 254)
    return f"127.{a}.{rest // 254}.{rest % 254 + 1}"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
