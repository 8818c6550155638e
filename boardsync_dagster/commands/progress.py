"""A terminal progress bar fed by the board_members asset's progress records."""

from __future__ import annotations

import logging
from typing import TextIO

WIDTH = 30


class ProgressBar(logging.Handler):
    """Redraws one line on a terminal; elsewhere (CI, pipes) prints each progress line as it comes."""

    def __init__(self, stream: TextIO):
        super().__init__(level=logging.INFO)
        self.stream = stream
        self.tty = stream.isatty()
        self.drawn = False
        self.logger = logging.getLogger("boardsync.progress")

    def __enter__(self) -> ProgressBar:
        self.logger.addHandler(self)
        self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        p = getattr(record, "progress", None)
        if p is None or not self.tty:
            self.stream.write(record.getMessage() + "\n")
            self.stream.flush()
            return
        share = p.boards_done / p.boards_total if p.boards_total else 1.0
        filled = int(share * WIDTH)
        eta = f"{p.eta_s:.0f}s" if p.eta_s is not None else "?"
        line = (
            f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {p.boards_done}/{p.boards_total} boards "
            f"{p.members} members {p.ips_used} IPs {sum(p.errors.values())} errors ETA {eta}  "
        )
        self.stream.write(line)
        self.stream.flush()
        self.drawn = True
