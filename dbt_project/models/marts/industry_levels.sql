-- The level (1, 2, 3...) and parent of each industry board on each complete day, inferred from members alone:
-- since 2026 Eastmoney lists first-, second- and third-level industries together, with no level field.
-- A board's parent is the smallest industry board that strictly contains it; its level is one more than the
-- number of industry boards strictly containing it. That is only sound when the industry boards nest like a
-- tree (any two are nested or disjoint), so a board is flagged ambiguous, with level and parent null, when
-- another board has exactly its members, when it overlaps another without either containing the other, or when
-- its containers do not form one chain. Ambiguous boards are never given a guessed level.
-- Incremental like board_daily_stats: a build reads only the days it rebuilds.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_rebuilt_days('snapshot_date') }}",
    post_hook="{{ log_built_days() }}",
) }}

{% set rebuild_from_day = rebuild_from() %}

with industries as (
    select list.snapshot_date, list.board_code
    from {{ ref('stg_board_list') }} as list
    inner join {{ ref('complete_days') }} as days using (snapshot_date)
    where list.snapshot_date >= date '{{ rebuild_from_day }}' and list.board_kind = 'industry'
),

members as (
    select distinct members.snapshot_date, members.board_code, members.stock_code
    from {{ ref('stg_board_members') }} as members
    inner join industries using (snapshot_date, board_code)
    where members.snapshot_date >= date '{{ rebuild_from_day }}'
),

sizes as (
    select industries.snapshot_date, industries.board_code, count(members.stock_code) as member_count
    from industries
    left join members using (snapshot_date, board_code)
    group by all
),

-- Every pair of industry boards sharing a stock, with how many they share.
shared as (
    select a.snapshot_date, a.board_code, b.board_code as other_code, count(*) as shared
    from members as a
    inner join members as b
        on b.snapshot_date = a.snapshot_date and b.stock_code = a.stock_code and b.board_code <> a.board_code
    group by all
),

pairs as (
    select
        shared.snapshot_date,
        shared.board_code,
        shared.other_code,
        mine.member_count,
        other.member_count as other_count,
        shared.shared = mine.member_count and shared.shared < other.member_count as inside_other,
        shared.shared = mine.member_count and shared.shared = other.member_count as same_members,
        shared.shared < mine.member_count and shared.shared < other.member_count as overlaps
    from shared
    inner join sizes as mine using (snapshot_date, board_code)
    inner join sizes as other on other.snapshot_date = shared.snapshot_date and other.board_code = shared.other_code
),

per_board as (
    select
        sizes.snapshot_date,
        sizes.board_code,
        sizes.member_count,
        count(pairs.other_code) filter (where pairs.inside_other) as containers,
        -- The smallest container, and whether it is the only one of its size.
        arg_min(pairs.other_code, pairs.other_count) filter (where pairs.inside_other) as parent_board_code,
        count(distinct pairs.other_count) filter (where pairs.inside_other) as container_sizes,
        min(pairs.other_code) filter (where pairs.same_members) as same_as,
        min(pairs.other_code) filter (where pairs.overlaps) as overlaps_with
    from sizes
    left join pairs using (snapshot_date, board_code)
    group by all
),

judged as (
    select
        board.*,
        case
            when board.member_count = 0 then 'no members'
            when board.same_as is not null then 'same members as ' || board.same_as
            when board.overlaps_with is not null then 'overlaps ' || board.overlaps_with || ' without containment'
            -- A chain has one container of each size, and the parent is contained in all the others.
            when board.container_sizes <> board.containers
                or (board.containers > 0 and parent.containers <> board.containers - 1)
                then 'containers do not form a chain'
        end as ambiguity
    from per_board as board
    left join per_board as parent
        on parent.snapshot_date = board.snapshot_date and parent.board_code = board.parent_board_code
)

select
    snapshot_date,
    board_code,
    case when ambiguity is null then containers + 1 end::integer as level,
    case when ambiguity is null then parent_board_code end as parent_board_code,
    member_count,
    ambiguity is not null as ambiguous,
    ambiguity
from judged
