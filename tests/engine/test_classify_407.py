"""A proxy that refuses connections is a connection error, whatever digits its address or the URL contains.

Found by the benchmark: "407" in a proxy port (…:40712) or a board code (BK0407) was taken for a 407 answer, and
three such dead proxies in a row stopped a run with "the proxy user/password is wrong".
"""

from __future__ import annotations

import requests

from boardsync_dagster.engine.eastmoney import classify_exception
from boardsync_dagster.engine.errors import ErrorClass


def _proxy_error(text: str) -> requests.exceptions.ProxyError:
    return requests.exceptions.ProxyError(text)


def test_a_refused_proxy_whose_port_contains_407_is_a_connection_error():
    text = (
        "HTTPConnectionPool(host='127.1.2.3', port=40712): Max retries exceeded with url: "
        "http://127.0.0.1:9/api/qt/clist/get?fs=b:BK0407 (Caused by ProxyError('Unable to connect to proxy', "
        "NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused')))"
    )
    assert classify_exception(_proxy_error(text)).error_class is ErrorClass.CONNECTION


def test_a_tunnel_refused_with_407_is_proxy_auth():
    text = (
        "Unable to connect to proxy (OSError('Tunnel connection failed: 407 Proxy Authentication Required'))"
    )
    assert classify_exception(_proxy_error(text)).error_class is ErrorClass.PROXY_AUTH
