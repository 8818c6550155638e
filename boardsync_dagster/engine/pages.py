"""PageBook: the pages of one board (or one board list) as they arrive, and the verdict on completeness.

Pure bookkeeping, no threads: the manager feeds it pages and acts on what it answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """What the manager must do next. Exactly one of: fetch pages, restart the board, accept rows, or wait."""

    fetch: list[int] = field(default_factory=list)
    restart: str | None = None
    rows: list[Any] | None = None  # complete: de-duplicated rows in page order
    note: str | None = None  # complete but short of an over-reported total
    refetch: bool = False  # fetch lists pages already answered once (a hiccup, or confirming a short total)
    reason: str | None = None  # why a refetch: what the board failed with if the refetches run out


WAIT = Verdict()


class PageBook:
    def __init__(self, page_size: int, end_confirmations: int, key: Callable[[Any], str]) -> None:
        self.page_size = page_size
        self.end_confirmations = end_confirmations
        self.key = key
        self.generation = 0
        self.restarts = 0
        self.total: int | None = None
        self.expected = 0
        self.answers: dict[int, list[Any]] = {}
        self.nulls: set[int] = set()  # pages answered data:null (not an empty list with the total)
        self.short_seen = 0
        self.short_seen_empty = 0  # of short_seen: endings shown by an empty list, not only by data:null

    def restart(self) -> None:
        self.generation += 1
        self.restarts += 1
        self.total = None
        self.expected = 0
        self.answers = {}
        self.nulls = set()
        self.short_seen = 0
        self.short_seen_empty = 0

    def record(self, page: int, total: int | None, rows: list[Any]) -> Verdict:
        """A page answered. total is None for a data:null page past page 1 (how the pages end, or a hiccup)."""
        if self.total is None:
            if page != 1 or total is None:
                return WAIT  # a stale answer from before a restart; page 1 decides
            self.total = total
            self.expected = max(1, math.ceil(total / self.page_size))
            self.answers = {1: rows}
            if self.expected > 1:
                return Verdict(fetch=list(range(2, self.expected + 1)))
            return self.evaluate()
        if total is not None and total != self.total and rows:
            return Verdict(restart=f"the total changed from {self.total} to {total} between pages")
        self.answers[page] = rows
        if total is None:
            self.nulls.add(page)
        else:
            self.nulls.discard(page)
        if all(p in self.answers for p in range(1, self.expected + 1)):
            return self.evaluate()
        return WAIT

    def evaluate(self) -> Verdict:
        pages = [self.answers[p] for p in range(1, self.expected + 1)]
        all_rows = [row for rows in pages for row in rows]
        first_seen: dict[str, Any] = {}
        for row in all_rows:
            first_seen.setdefault(self.key(row), row)
        distinct = list(first_seen.values())
        if len(distinct) == self.total:
            return Verdict(rows=distinct)
        nonempty = [p for p in range(1, self.expected + 1) if self.answers[p]]
        last = max(nonempty, default=0)
        gaps = [p for p in range(1, last) if not self.answers[p]]
        if gaps:
            # An empty page before a full one is a hiccup, not the end: fetch those pages again.
            for p in gaps:
                del self.answers[p]
            pages = f"page {gaps[0]}" if len(gaps) == 1 else f"pages {', '.join(map(str, gaps))}"
            reason = f"{pages} came back empty while the total says {self.total}"
            return Verdict(fetch=gaps, refetch=True, reason=reason)
        short_inside = any(len(self.answers[p]) != self.page_size for p in range(1, last))
        if short_inside or len(distinct) != len(all_rows) or len(distinct) > (self.total or 0):
            return Verdict(
                restart=f"pages repeat or skip rows: {len(distinct)} distinct of {len(all_rows)} rows, "
                f"total {self.total}"
            )
        # Dense pages, no repeats, fewer rows than reported: the total is over-reported, or the tail page lied.
        # data:null is also a transient fault (2 % of answers in the hostile simulator): an ending shown only by
        # it needs one sighting more, or two nulls in a row on a last page accept a board a page short.
        self.short_seen += 1
        empties = range(last + 1, self.expected + 1)
        if not (empties and all(p in self.nulls for p in empties)):
            self.short_seen_empty += 1
        needed = self.end_confirmations + (0 if self.short_seen_empty else 1)
        if self.short_seen >= needed:
            note = f"total {self.total} over-reported: pages ran out at {len(distinct)} (seen {self.short_seen}x)"
            return Verdict(rows=distinct, note=note)
        tail = list(range(max(last, 1), self.expected + 1))
        for p in tail:
            del self.answers[p]
        reason = f"the pages ran out at {len(distinct)} rows while the total says {self.total}"
        return Verdict(fetch=tail, refetch=True, reason=reason)
