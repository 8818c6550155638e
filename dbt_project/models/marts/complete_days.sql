-- The snapshot days that can be trusted: every listed board was stored completely, and the list itself has, per
-- kind, as many boards as the API said. Only these days feed the history models; a partial day is invisible
-- to them, so it can never create a false exit. Small (one row per day), rebuilt in full every run.

with list_per_kind as (
    select
        snapshot_date,
        board_kind,
        count(distinct board_code) as boards,
        min(kind_total) as kind_total_min,
        max(kind_total) as kind_total_max
    from {{ ref('stg_board_list') }}
    group by snapshot_date, board_kind
),

list_is_whole as (
    select snapshot_date
    from list_per_kind
    group by snapshot_date
    having bool_and(boards = kind_total_min and boards = kind_total_max)
),

board_status as (
    select
        list.snapshot_date,
        list.board_code,
        -- A board deleted between the list and its members counts as accounted for: it has no members that day.
        coalesce(status.complete or status.gone, false) as complete,
        status.members,
        status.synced_at
    from {{ ref('stg_board_list') }} as list
    left join {{ ref('stg_board_sync_status') }} as status
        on status.snapshot_date = list.snapshot_date and status.board_code = list.board_code
),

-- The sync marks each board complete as it is checkpointed, but writes the day's members only when the step
-- ends: a run killed in between leaves status rows saying complete over a day with no member rows. A day counts
-- only when the rows stored are the rows its status promises. (A count per day: cheap beside the marts.)
stored as (
    select snapshot_date, count(*) as stored_rows
    from {{ ref('stg_board_members') }}
    group by snapshot_date
),

complete as (
    select
        snapshot_date,
        count(*) as boards,
        sum(members) as member_rows,
        -- Changes whenever the day is re-synced (new synced_at), so incremental models rebuild from it.
        md5(string_agg(concat_ws('|', board_code, members, synced_at), ',' order by board_code)) as day_version
    from board_status
    where snapshot_date in (select snapshot_date from list_is_whole)
    group by snapshot_date
    having bool_and(complete)
)

select
    snapshot_date,
    lag(snapshot_date) over (order by snapshot_date) as previous_complete_date,
    boards,
    member_rows,
    day_version
from complete
inner join stored using (snapshot_date)
where stored.stored_rows = complete.member_rows
