-- Per board and complete day: members, how many joined, how many left. A board deleted that day still gets a
-- row (0 members, all removed). `member_checksum` is an order-free sum of the members' hashes: it lets a test
-- check that replaying the changes reproduces every day's membership without re-reading every snapshot.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_rebuilt_days('snapshot_date') }}",
    post_hook="{{ log_built_days(built_from='board_membership_changes') }}",
) }}

{% set rebuild_from_day = rebuild_from() %}

with days as (
    select snapshot_date
    from {{ ref('complete_days') }}
    where snapshot_date >= date '{{ rebuild_from_day }}'
),

members as (
    select distinct snapshot_date, board_code, stock_code
    from {{ ref('stg_board_members') }}
    where snapshot_date >= date '{{ rebuild_from_day }}'
        and snapshot_date in (select snapshot_date from days)
),

member_counts as (
    select
        snapshot_date,
        board_code,
        count(*) as member_count,
        sum(hash(stock_code))::hugeint as member_checksum
    from members
    group by snapshot_date, board_code
),

change_counts as (
    select
        snapshot_date,
        board_code,
        count(*) filter (where change = 'added') as added,
        count(*) filter (where change = 'removed') as removed
    from {{ ref('board_membership_changes') }}
    where snapshot_date >= date '{{ rebuild_from_day }}'
    group by snapshot_date, board_code
),

boards as (
    -- Listed boards (even with no members) and boards that left the list that day.
    select snapshot_date, board_code
    from {{ ref('stg_board_list') }}
    where snapshot_date in (select snapshot_date from days)
    union
    select snapshot_date, board_code from change_counts
)

select
    boards.snapshot_date,
    boards.board_code,
    coalesce(member_counts.member_count, 0) as member_count,
    coalesce(change_counts.added, 0) as added,
    coalesce(change_counts.removed, 0) as removed,
    coalesce(member_counts.member_checksum, 0)::hugeint as member_checksum
from boards
left join member_counts using (snapshot_date, board_code)
left join change_counts using (snapshot_date, board_code)
