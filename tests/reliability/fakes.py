"""Tiny loopback HTTP servers answering from a script: an Eastmoney that lies, a vendor that talks garbage."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# (path, query) -> (status, body)
Answer = Callable[[str, dict[str, str], int], tuple[int, str]]


class ScriptedServer:
    """Answers every GET with answer(path, query, n), n = how often this (path, query) was asked before."""

    def __init__(self, answer: Answer):
        self.answer = answer
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                key = (parts.path, "&".join(f"{k}={query[k]}" for k in sorted(query) if k in ("fs", "pn")))
                with outer._lock:
                    n = outer.calls[key]
                    outer.calls[key] += 1
                status, body = outer.answer(parts.path, query, n)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
