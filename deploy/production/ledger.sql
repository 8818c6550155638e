-- The vendor quota ledger in Postgres, shared by every run and pod (docs/scale-out.md).
-- Same semantics as raw.proxy_quota in DuckDB: reserve before the vendor call (+1), release when nothing was issued (-1).
create table if not exists boardsync_proxy_quota (
    account     text        not null,            -- the vendor account (a name, never the key)
    vendor_day  date        not null,            -- Asia/Shanghai calendar day
    ips_used    integer     not null check (ips_used >= 0),
    updated_at  timestamptz not null default now(),
    primary key (account, vendor_day)
);

-- Reserve one IP only while the day's quota allows it; no row returned = quota spent (QuotaExhausted).
-- :account, :day, :max_ips are bound by the ledger client.
-- insert into boardsync_proxy_quota (account, vendor_day, ips_used) values (:account, :day, 1)
-- on conflict (account, vendor_day) do update set ips_used = boardsync_proxy_quota.ips_used + 1, updated_at = now()
--   where boardsync_proxy_quota.ips_used < :max_ips
-- returning ips_used;
