"""What the ban model learned is kept per vendor account and day in the DuckDB file, so the next run starts
from it; the account is filed under a hash, never under the vendor URL or any part of its key."""

from __future__ import annotations

import datetime as dt

from boardsync_dagster.engine.banmodel import Estimate
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.ledger import account_id
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.storage import Store

KEY = "k3y-4242-SECRET"
API = f"http://vendor.example/get?key={KEY}&num=1"


def test_the_estimate_is_kept_per_account_and_day_and_the_next_run_starts_from_it(tmp_path):
    path = tmp_path / "boardsync.duckdb"
    account = account_id(API)
    day = dt.date(2026, 3, 2)
    learned = Estimate(spacing=1.2, window=10.0, window_limit=10, cap=None, life=58.0, bans=3)
    with Store(path) as store:
        assert store.last_ban_estimate(account, day) is None
        store.save_ban_estimate(account, day, learned.as_dict())
        store.save_ban_estimate(account_id("http://other.example/get?key=x"), day, {"spacing": 9.0})
    with Store(path) as store:
        # Tomorrow starts from yesterday's; another account's is its own.
        saved = store.last_ban_estimate(account, day + dt.timedelta(days=1))
        assert store.last_ban_estimate(account, day - dt.timedelta(days=1)) is None
    assert Estimate.from_dict(saved) == learned
    manager = ProxyManager(ProxySettings(proxy_api=API), SyncConfig(), ban_start=Estimate.from_dict(saved))
    assert manager.model.spacing(manager.clock.monotonic()) == learned.spacing
    assert manager.model.learned  # no slow start from scratch
    # No part of the key in what is stored.
    assert KEY not in account and "4242" not in account  # the vendor's host is shown, never the key
    assert KEY.encode() not in path.read_bytes()
