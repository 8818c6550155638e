"""The Simulator in a process of its own, for the benchmark.

Eastmoney and the proxy vendor do not share the engine's CPU; a simulator in the engine's process does, behind the
same GIL as the six workers, and at the benchmark's small time scales a request that leaves late carries less of an
IP's scaled life (docs/benchmark.md, rounds eight and nine: measured, the move apart changed the IP count by less
than identical runs vary; it is kept as the faithful layout). Here the servers run in a child interpreter and talk
to the engine over loopback only; truth() and stats() come back over the child's stdout when the run is done.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from types import TracebackType

from boardsync_dagster.simulator.profiles import Profile

# A child not gone this long after "stop" is killed (its servers stop within a second). Its start has no bound of
# its own: the benchmark's repeat process that starts it has CHILD_TIMEOUT_S.
STOP_TIMEOUT_S = 120.0


def serve(stdin, stdout) -> None:
    """The child: read the Simulator's arguments, start it, say where it listens, answer 'observe' until 'stop'.

    Pickles over the child's own stdin/stdout: a fresh interpreter started with -m, so nothing of the caller's
    script is re-imported (multiprocessing's spawn would run an unguarded caller again).
    """
    from boardsync_dagster.simulator.server import Simulator

    def send(message) -> None:
        pickle.dump(message, stdout)
        stdout.flush()

    try:
        sim = Simulator(**pickle.load(stdin)).start()
    except Exception as exc:  # the parent raises it with its own words
        send(("error", str(exc)))
        return
    try:
        send(
            (
                "ready",
                {"eastmoney_url": sim.eastmoney_url, "vendor_url": sim.vendor_url, "profile": sim.profile},
            )
        )
        while pickle.load(stdin) == "observe":
            send(sim.observe())
    except EOFError:
        pass  # the parent is gone: stop
    finally:
        sim.stop()


class RemoteSimulator:
    """The part of Simulator the benchmark reads: addresses, profile, observe(); a context manager."""

    def __init__(self, **kwargs) -> None:
        self._kwargs = kwargs
        self._process: subprocess.Popen | None = None
        self.eastmoney_url = ""
        self.vendor_url = ""
        self.profile: Profile | None = None

    def __enter__(self) -> RemoteSimulator:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "boardsync_dagster.simulator.remote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            self._send(self._kwargs)
            kind, payload = pickle.load(self._process.stdout)
        except (EOFError, OSError):
            self.stop()
            raise RuntimeError("the simulator process ended before it started its servers") from None
        if kind == "error":
            self.stop()
            raise ValueError(payload)
        self.eastmoney_url = payload["eastmoney_url"]
        self.vendor_url = payload["vendor_url"]
        self.profile = payload["profile"]
        return self

    def observe(self) -> tuple[dict, dict]:
        """truth() and stats() of the simulator, read together."""
        self._send("observe")
        return pickle.load(self._process.stdout)

    def _send(self, message) -> None:
        pickle.dump(message, self._process.stdin)
        self._process.stdin.flush()

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            self._send("stop")
            self._process.stdin.close()
        except OSError:
            pass  # the child is gone already
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._process = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
