-- One row per calendar day from the first day anything was synced to the last: what we know about that day.
-- status: complete (in complete_days, the history reflects it), incomplete (something was stored but the day
-- cannot be trusted), not_synced (nothing stored: a weekend, a holiday, a day the job did not run).
-- observed_on: the complete day that answers for this day, the latest complete day on or before it (null before
-- the first complete day). An answer "as of" a day is the membership of its observed_on, never a guess.

with listed as (
    select snapshot_date, count(*) as boards_listed
    from {{ ref('stg_board_list') }}
    group by snapshot_date
),

status as (
    select snapshot_date, count(*) filter (where complete) as boards_complete
    from {{ ref('stg_board_sync_status') }}
    group by snapshot_date
),

stored as (
    select snapshot_date, count(*) as member_rows
    from {{ ref('stg_board_members') }}
    group by snapshot_date
),

synced as (
    select snapshot_date from listed
    union
    select snapshot_date from status
    union
    select snapshot_date from stored
),

calendar as (
    select unnest(generate_series(min(snapshot_date), max(snapshot_date), interval 1 day))::date as snapshot_date
    from synced
    having count(*) > 0
)

select
    calendar.snapshot_date,
    case
        when complete_days.snapshot_date is not null then 'complete'
        when synced.snapshot_date is not null then 'incomplete'
        else 'not_synced'
    end as status,
    coalesce(listed.boards_listed, 0) as boards_listed,
    coalesce(status.boards_complete, 0) as boards_complete,
    coalesce(stored.member_rows, 0) as member_rows,
    max(complete_days.snapshot_date) over (
        order by calendar.snapshot_date rows between unbounded preceding and current row
    ) as observed_on
from calendar
left join synced using (snapshot_date)
left join listed using (snapshot_date)
left join status using (snapshot_date)
left join stored using (snapshot_date)
left join {{ ref('complete_days') }} as complete_days on complete_days.snapshot_date = calendar.snapshot_date
