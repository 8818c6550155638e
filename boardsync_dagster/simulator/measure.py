"""Figures for docs/simulator.md: `python -m boardsync_dagster.simulator.measure`.

How long the simulator takes to build and start, how many clist requests a second it serves (direct and
through its proxies), and what failure rate a seed-like client sees under the `seed` profile.
"""

from __future__ import annotations

import json
import random
import threading
import time

import requests

from boardsync_dagster.engine.types import BoardKind
from boardsync_dagster.simulator.server import Simulator


def startup() -> dict[str, float]:
    started = time.perf_counter()
    sim = Simulator()
    built = time.perf_counter()
    sim.start()
    running = time.perf_counter()
    sim.stop()
    return {"build_s": round(built - started, 3), "start_s": round(running - built, 4)}


def throughput(workers: int, seconds: float, via_proxies: bool) -> float:
    """Requests per second for `workers` threads each with a keep-alive session, BK0596's pages in turn."""
    with Simulator(min_interval=0, ip_ttl=3600) as sim:
        url = sim.clist_url
        count = [0] * workers
        end = time.monotonic() + seconds

        def work(i: int) -> None:
            session = requests.Session()
            if via_proxies:
                session.proxies = {"http": "http://" + requests.get(sim.vendor_url, timeout=5).text.strip()}
            pn = 0
            while time.monotonic() < end:
                pn = pn % 37 + 1
                params = {"fs": "b:BK0596 f:!50", "pn": pn, "pz": 100, "np": 1, "fid": "f12", "po": 1}
                session.get(url, params={**params, "fields": "f12,f13,f14"}, timeout=10).raise_for_status()
                count[i] += 1

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return round(sum(count) / seconds)


def seed_client(scale: float, total: int = 800) -> dict[str, object]:
    """The seed script's way: 6 workers share one current IP, replaced on any failure or after 45 s,
    a 1-2 s pause before each request, vendor calls at least 2 s apart. Simulated seconds throughout."""
    with Simulator(profile="typical", scale=scale, rng_seed=1) as sim:
        url = sim.clist_url
        truth = sim.truth()
        pages = [(code, pn) for code, (_, ms) in truth.items() for pn in range(1, len(ms) // 100 + 2)]
        pages += [(kind, 1) for kind in (BoardKind.INDUSTRY, BoardKind.CONCEPT)]
        lock = threading.Lock()
        state: dict = {"proxy": None, "since": 0.0, "last_call": -1e9, "done": 0, "failed": 0, "ips": 0}

        def current() -> str:
            with lock:
                now = time.monotonic()
                if state["proxy"] is None or now - state["since"] > 45 * scale:
                    wait = state["last_call"] + 2.05 * scale - now
                    if wait > 0:
                        time.sleep(wait)
                    state["last_call"] = time.monotonic()
                    state["proxy"] = requests.get(sim.vendor_url, timeout=5).text.strip()
                    state["since"], state["ips"] = time.monotonic(), state["ips"] + 1
                return state["proxy"]

        def work(seed: int) -> None:
            rng = random.Random(seed)
            while True:
                with lock:
                    if state["done"] + state["failed"] >= total:
                        return
                    code, pn = pages[rng.randrange(len(pages))]
                time.sleep(rng.uniform(1, 2) * scale)
                proxy = current()
                fs = f"b:{code}" if code.startswith("BK") else f"m:90 t:{2 if code == 'industry' else 3}"
                params = {"fs": fs, "pn": pn, "pz": 100, "np": 1, "fid": "f12", "fields": "f12,f13,f14"}
                try:
                    reply = requests.get(url, params=params, proxies={"http": proxy}, timeout=10 * scale)
                    ok = reply.status_code == 200 and reply.json().get("data") is not None
                except (requests.RequestException, ValueError):
                    ok = False
                with lock:
                    state["done" if ok else "failed"] += 1
                    if not ok and state["proxy"] == proxy:
                        state["proxy"] = None

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = sim.stats()
        sent = state["done"] + state["failed"]
        return {
            "requests": sent,
            "failed_pct": round(100 * state["failed"] / sent, 1),
            "ips": state["ips"],
            "replies": stats["replies"],
            "ips_issued": stats["ips_issued"],
            "bans": stats["bans"],
        }


def main() -> None:
    figures = {
        "startup": startup(),
        "rps_direct_6": throughput(6, 3.0, via_proxies=False),
        "rps_proxies_6": throughput(6, 3.0, via_proxies=True),
        "rps_proxies_12": throughput(12, 3.0, via_proxies=True),
        "seed_client_scale_0.02": seed_client(0.02),
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
