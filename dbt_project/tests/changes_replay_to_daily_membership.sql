{{ config(meta={'dagster': {'ref': {'name': 'board_daily_stats'}}}) }}
-- Replaying the changes from the first complete day reproduces every complete day's membership of every board:
-- the running count and running checksum of the changes must equal the count and checksum board_daily_stats
-- took from that day's snapshot. (An exact comparison for the latest day is in current_matches_open_stays.)

with daily_net as (
    select
        snapshot_date,
        board_code,
        sum(case when change = 'added' then 1 else -1 end) as net_members,
        sum(case when change = 'added' then hash(stock_code)::hugeint else -hash(stock_code)::hugeint end)
            as net_checksum
    from {{ ref('board_membership_changes') }}
    group by snapshot_date, board_code
),

replayed as (
    select
        stats.snapshot_date,
        stats.board_code,
        stats.member_count,
        stats.member_checksum,
        sum(coalesce(daily_net.net_members, 0)) over board_days as replayed_count,
        sum(coalesce(daily_net.net_checksum, 0)) over board_days as replayed_checksum
    from {{ ref('board_daily_stats') }} as stats
    left join daily_net using (snapshot_date, board_code)
    window board_days as (partition by stats.board_code order by stats.snapshot_date)
)

select *
from replayed
where replayed_count != member_count or replayed_checksum != member_checksum
