"""An offline Eastmoney clist server and proxy vendor, real HTTP on loopback, with faults. See docs/simulator.md."""

from boardsync_dagster.simulator.dataset import DayChanges
from boardsync_dagster.simulator.profiles import PROFILES, Profile
from boardsync_dagster.simulator.server import Simulator

__all__ = ["PROFILES", "DayChanges", "Profile", "Simulator"]
