"""The vendor quota ledger kept where other processes see it: in the DuckDB file, or in PostgreSQL.

Both run the same statements (engine.ledger.QuotaLedger): a reservation is ONE upsert that only adds while the
day's count stays within max_ips, so two processes can never both take the last IP; a vendor call is claimed by
one upsert that only succeeds min_interval after the account's last call. BOARDSYNC_LEDGER_DSN (a PostgreSQL URL)
chooses the shared ledger for several machines or several DuckDB files on one account; unset, the ledger lives in
the DuckDB file beside the checkpoint.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from boardsync_dagster.engine.ledger import QuotaLedger, account_id, claim_wait
from boardsync_dagster.engine.masking import Redactor, mask_url
from boardsync_dagster.storage import connect, transaction

LEDGER_DSN_ENV = "BOARDSYNC_LEDGER_DSN"

# Written with ? placeholders; PostgresLedger turns them into %s. Table names are filled in per backend.
RESERVE = """insert into {quota} as q (account, vendor_day, ips_used, updated_at) values (?, ?, ?, now())
    on conflict (account, vendor_day) do update set ips_used = q.ips_used + excluded.ips_used,
                                                    updated_at = excluded.updated_at
    where q.ips_used + excluded.ips_used <= ? returning ips_used"""
ADD = """insert into {quota} as q (account, vendor_day, ips_used, updated_at) values (?, ?, greatest(?, 0), now())
    on conflict (account, vendor_day) do update set ips_used = greatest(q.ips_used + ?, 0),
                                                    updated_at = excluded.updated_at"""
MARK_SPENT = """insert into {quota} as q (account, vendor_day, ips_used, updated_at) values (?, ?, ?, now())
    on conflict (account, vendor_day) do update set ips_used = greatest(q.ips_used, excluded.ips_used),
                                                    updated_at = excluded.updated_at"""
USED = "select ips_used from {quota} where account = ? and vendor_day = ?"
CLAIM = """insert into {calls} as c (account, last_call) values (?, ?)
    on conflict (account) do update set last_call = excluded.last_call
    where c.last_call <= ? returning last_call"""
LAST_CALL = "select last_call from {calls} where account = ?"
CALL_ENDED = """insert into {calls} as c (account, last_call) values (?, ?)
    on conflict (account) do update set last_call = case when c.last_call = ? then excluded.last_call
                                                         else greatest(c.last_call, excluded.last_call) end"""

# A claim that loses a race to a claim just ended re-reads the last call this many times before reporting a wait.
CLAIM_TRIES = 3


class SqlLedger:
    """The ledger's logic once; a backend supplies `_tx()` (one transaction on a connection) and table names."""

    quota_table = ""
    calls_table = ""
    placeholder = "?"

    def __init__(self, account: str) -> None:
        self.account = account

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def _sql(self, template: str) -> str:
        sql = template.format(quota=self.quota_table, calls=self.calls_table)
        return sql.replace("?", self.placeholder)

    def _run(self, template: str, params: list, fetch: Callable[[Any], Any] = lambda cur: None) -> Any:
        with self._tx() as cur:
            cur.execute(self._sql(template), params)
            return fetch(cur)

    def used(self, vendor_day: dt.date) -> int:
        row = self._run(USED, [self.account, vendor_day], lambda cur: cur.fetchone())
        return int(row[0]) if row else 0

    def reserve(self, vendor_day: dt.date, n: int, max_ips: int) -> bool:
        if n > max_ips:
            return False
        row = self._run(RESERVE, [self.account, vendor_day, n, max_ips], lambda cur: cur.fetchone())
        return row is not None

    def add(self, vendor_day: dt.date, n: int) -> None:
        self._run(ADD, [self.account, vendor_day, n, n])

    def mark_spent(self, vendor_day: dt.date, max_ips: int) -> None:
        self._run(MARK_SPENT, [self.account, vendor_day, max_ips])

    def claim_call(self, now: float, min_interval: float, in_flight: float) -> float | None:
        wait = min_interval
        for _ in range(CLAIM_TRIES):
            with self._tx() as cur:
                cur.execute(self._sql(CLAIM), [self.account, now + in_flight, now - min_interval])
                if cur.fetchone() is not None:
                    return None
                cur.execute(self._sql(LAST_CALL), [self.account])
                row = cur.fetchone()
            found = claim_wait(row[0] if row else None, now, min_interval)
            if found is not None:
                return found
        return wait  # lost every race in a row: others are calling, so a full interval is the right wait

    def call_ended(self, claimed: float, at: float) -> None:
        self._run(CALL_ENDED, [self.account, at, claimed])


FILE_SCHEMA = """
create schema if not exists raw;
create table if not exists raw.vendor_quota (
    account varchar not null, vendor_day date not null, ips_used integer not null,
    updated_at timestamp with time zone not null, primary key (account, vendor_day)
);
create table if not exists raw.vendor_calls (account varchar primary key, last_call double not null);
"""


class FileLedger(SqlLedger):
    """The ledger in the DuckDB file: a short connection per call (a few calls per IP). DuckDB lets one process
    open the file at a time, so the file itself serialises other processes; the lock serialises this one's threads
    (DuckDB would abort one of two concurrent updates of a row instead of waiting)."""

    quota_table = "raw.vendor_quota"
    calls_table = "raw.vendor_calls"
    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()

    def __init__(self, path: str, account: str, wait_s: float = 30.0) -> None:
        super().__init__(account)
        self.path = path
        self.wait_s = wait_s
        with self._locks_guard:
            self._lock = self._locks.setdefault(os.path.abspath(path), threading.Lock())

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            conn = connect(self.path, wait_s=self.wait_s)
            try:
                conn.execute(FILE_SCHEMA)
                with transaction(conn):
                    yield conn
            finally:
                conn.close()


PG_SCHEMA = """
create table if not exists boardsync_proxy_quota (
    account text not null, vendor_day date not null, ips_used integer not null check (ips_used >= 0),
    updated_at timestamptz not null default now(), primary key (account, vendor_day)
);
create table if not exists boardsync_vendor_calls (account text primary key, last_call double precision not null);
"""
# Serialises the first `create table if not exists` of several processes (PostgreSQL can fail two at once).
PG_SCHEMA_LOCK = 7_150_015


class PostgresLedger(SqlLedger):
    """The ledger in PostgreSQL, shared by every process and machine on the account. A connection per call: a
    run makes a few calls per IP, and no connection outlives a network hiccup or a forked process."""

    quota_table = "boardsync_proxy_quota"
    calls_table = "boardsync_vendor_calls"
    placeholder = "%s"

    def __init__(self, dsn: str, account: str, connect_timeout: float = 10.0) -> None:
        super().__init__(account)
        # Dagster's storage URL names its driver (postgresql+psycopg2://, see deploy/production/dagster.yaml);
        # libpq does not, so one URL can serve both.
        self._dsn = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", dsn)
        self._connect_timeout = connect_timeout
        self._schema_ready = False
        # A driver error may quote the DSN (a malformed one, say): its password never reaches a message.
        self._redact = Redactor([dsn, *re.findall(r"password\s*=\s*'?([^'\s]+)", dsn)])

    def __repr__(self) -> str:
        return f"PostgresLedger({shown_dsn(self._dsn)}, {self.account})"

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        try:
            import psycopg2
        except ImportError:
            raise RuntimeError(
                f"{LEDGER_DSN_ENV} needs the PostgreSQL driver: pip install -e '.[production]'"
            ) from None
        try:
            conn = psycopg2.connect(self._dsn, connect_timeout=max(1, int(self._connect_timeout)))
        except psycopg2.Error as exc:
            raise RuntimeError(
                f"PostgreSQL at {shown_dsn(self._dsn)}: {self._redact(first_line(exc))}"
            ) from None
        try:
            with conn, conn.cursor() as cur:  # `with conn`: commit, or roll back on an exception
                if not self._schema_ready:
                    cur.execute("select pg_advisory_xact_lock(%s)", [PG_SCHEMA_LOCK])
                    cur.execute(PG_SCHEMA)
                    self._schema_ready = True
                yield cur
        except psycopg2.Error as exc:
            raise RuntimeError(
                f"PostgreSQL at {shown_dsn(self._dsn)}: {self._redact(first_line(exc))}"
            ) from None
        finally:
            conn.close()


def shown_dsn(dsn: str) -> str:
    """Host, port and database of a DSN, without the user's password (key=value DSNs show only the host)."""
    if "://" in dsn:
        return mask_url(dsn)
    host = re.search(r"host=(\S+)", dsn)
    return f"host {host.group(1)}" if host else "the configured server"


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_ledger(db_path: str, vendor_url: str, wait_s: float = 30.0) -> QuotaLedger:
    """The ledger of the vendor account behind vendor_url: PostgreSQL when BOARDSYNC_LEDGER_DSN is set, else the
    DuckDB file."""
    account = account_id(vendor_url)
    dsn = os.environ.get(LEDGER_DSN_ENV)
    if dsn:
        return PostgresLedger(dsn, account)
    return FileLedger(db_path, account, wait_s)
