"""Error classes, the one table that decides what each class means, and the exceptions that stop a run."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    """How one Eastmoney request failed. Every failure is classified once, in eastmoney.py / parse.py."""

    TIMEOUT = "timeout"
    CONNECTION = (
        "connection"  # refused, reset, RemoteDisconnected (often wrapped as ProxyError): how a ban looks
    )
    PROXY_AUTH = "proxy_auth"  # 407 from the proxy
    HTTP_5XX = "http_5xx"
    HTTP_STATUS = "http_status"  # any other non-200 status (403, 429, ...): the IP is the usual suspect
    INVALID_JSON = "invalid_json"  # HTML, truncated body
    DATA_NULL = "data_null"
    EMPTY_PAGE = "empty_page"
    SCHEMA = (
        "schema"  # JSON of the wrong shape, a field missing or of the wrong type, a code that is not a code
    )
    INCONSISTENT = "inconsistent"  # pages disagree (total changed, rows repeated): the board is fetched again


@dataclass(frozen=True)
class Rule:
    change_ip: bool  # the IP is to blame: count it against the lease (see ProxyManager.report_failure)
    retry: bool  # requeue with retry+1; False: permanent failure at once
    fatal_on_fixed_proxy: bool = (
        False  # with a fixed proxy/tunnel there is no other IP: the credentials are wrong
    )


# THE table. A page-1 data:null is what Eastmoney answers for a board that does not exist: a board deleted after the
# list, not the IP's fault (the fetcher confirms it through IPs that serve other boards, then reports it gone).
# An empty page past page 1 is the normal end of an over-reported total (see fetcher); on page 1 it is a bad answer.
ACTIONS: dict[ErrorClass, Rule] = {
    ErrorClass.TIMEOUT: Rule(change_ip=True, retry=True),
    ErrorClass.CONNECTION: Rule(change_ip=True, retry=True),
    ErrorClass.PROXY_AUTH: Rule(change_ip=True, retry=True, fatal_on_fixed_proxy=True),
    ErrorClass.HTTP_5XX: Rule(change_ip=False, retry=True),
    ErrorClass.HTTP_STATUS: Rule(change_ip=True, retry=True),
    ErrorClass.INVALID_JSON: Rule(change_ip=True, retry=True),
    ErrorClass.DATA_NULL: Rule(change_ip=False, retry=True),
    ErrorClass.EMPTY_PAGE: Rule(change_ip=True, retry=True),
    # A malformed answer is the server's doing, not the IP's: keep the IP, retry, and give up at max_retry.
    ErrorClass.SCHEMA: Rule(change_ip=False, retry=True),
    ErrorClass.INCONSISTENT: Rule(change_ip=False, retry=True),
}


@dataclass(frozen=True)
class FetchError:
    """A classified failure of one request; message is already free of secrets."""

    error_class: ErrorClass
    message: str

    def __str__(self) -> str:
        return f"{self.error_class}: {self.message}"


class ConfigError(ValueError):
    """Bad configuration, refused at launch; the message names the field."""


class FatalSyncError(Exception):
    """The run cannot go on: stop every worker, keep what is checkpointed."""

    advice = "fix the cause and re-run; finished boards are kept"


class QuotaExhausted(FatalSyncError):
    advice = "re-run after the quota renews at 00:00 Asia/Shanghai; finished boards are kept"


class VendorAuthError(FatalSyncError):
    advice = "check the vendor key, the IP whitelist or the proxy user/password, then re-run"


class VendorUnavailable(FatalSyncError):
    advice = "the proxy vendor is unreachable or refusing; re-run later"


class VendorAnswerError(FatalSyncError):
    """The vendor answered something we cannot use (unknown format, garbage IPs, expiry in the past)."""

    advice = "check vendor_format and the vendor URL, and the machine's clock; then re-run"


class LedgerUnavailable(FatalSyncError):
    """The quota ledger cannot be read or written: no IP may be taken without counting it."""

    advice = (
        "free the database holding the quota ledger (another writer?) and re-run; finished boards are kept"
    )


class IpBudgetSpent(FatalSyncError):
    advice = "raise max_ips_per_run or re-run; finished boards are kept"


class BanSuspected(FatalSyncError):
    advice = "Eastmoney appears to ban every IP; wait some hours, lower the request rate, then re-run"


class Stopped(FatalSyncError):
    advice = "stopped on request; re-run to fetch the rest"
