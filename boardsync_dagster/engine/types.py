"""Plain data shared by the engine, the Dagster layer, the benchmark and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class BoardKind(StrEnum):
    INDUSTRY = "industry"
    CONCEPT = "concept"


@dataclass(frozen=True)
class Board:
    """One row of a board list: code is the stable identity, names get renamed."""

    code: str
    name: str
    kind: BoardKind


@dataclass(frozen=True)
class Member:
    """One stock in one board. market is 'SH', 'SZ' or 'BJ'."""

    stock_code: str
    stock_name: str
    market: str


@dataclass
class BoardResult:
    """A finished board, handed to the checkpoint callback as soon as it is validated.

    complete is True when len(members) == reported_total, or when the pages ran out before an
    over-reported total (then short_total_note says so).
    """

    board: Board
    reported_total: int
    members: list[Member]
    pages: int
    complete: bool
    short_total_note: str | None = None


@dataclass
class BoardFailure:
    board: Board
    error_class: str
    last_error: str
    attempts: int


@dataclass
class KindReport:
    boards_ok: int = 0
    boards_total: int = 0
    members: int = 0
    requests: int = 0


@dataclass
class SyncReport:
    """The seed's result table, in data."""

    kinds: dict[str, KindReport] = field(default_factory=dict)
    ips_used: int = 0
    ips_unusable: int = 0  # of ips_used: issued already expired (or within the expiry margin), never used
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    failures: list[BoardFailure] = field(default_factory=list)
    # Boards listed today but deleted before their members were fetched (data:null on page 1, confirmed).
    gone: list[BoardFailure] = field(default_factory=list)
    skipped: int = 0
    duration_s: float = 0.0
    stopped_reason: str | None = None
    # The error that stopped the run (QuotaExhausted, VendorAuthError, Stopped, ...), None when it ran to the end.
    fatal: Exception | None = field(default=None, repr=False, compare=False)
    vendor_calls: int = 0
    vendor_refusals: int = 0
    # Boards accepted short of an over-reported total, and similar remarks worth a log line.
    notes: list[str] = field(default_factory=list)
    # Boards neither done nor permanently failed when the run stopped (to fetch on the next run).
    unfinished: list[Board] = field(default_factory=list, repr=False)
    # Adaptive pacing: what the ban model learned (ProxyManager.ban_summary: estimate, history, bans), else None.
    ban_model: dict | None = field(default=None, repr=False)

    @property
    def boards_ok(self) -> int:
        return sum(k.boards_ok for k in self.kinds.values())

    @property
    def boards_total(self) -> int:
        return sum(k.boards_total for k in self.kinds.values())

    @property
    def members(self) -> int:
        return sum(k.members for k in self.kinds.values())
