-- The name (and kind) of each board over time, over complete days, one row per continuous spell of one name:
-- a rename closes a spell and opens another under the same code; a board missing from a complete day's list
-- closes its spell, and a return (or a code reused for another board) opens a new one.
-- valid_from: first complete day listed so; valid_to: first complete day not (exclusive), null while current;
-- last_observed: last complete day listed so. Small (boards x days of the list), rebuilt in full each run.

with days as (
    select snapshot_date, row_number() over (order by snapshot_date) as day_number
    from {{ ref('complete_days') }}
),

listed as (
    select
        list.board_code,
        list.board_name,
        list.board_kind,
        list.snapshot_date,
        days.day_number,
        -- Consecutive complete days under one name share this number (gaps and islands).
        days.day_number - row_number() over (
            partition by list.board_code, list.board_name, list.board_kind order by days.day_number
        ) as spell
    from {{ ref('stg_board_list') }} as list
    inner join days using (snapshot_date)
),

spells as (
    select
        board_code,
        board_name,
        board_kind,
        min(snapshot_date) as valid_from,
        max(snapshot_date) as last_observed,
        max(day_number) as last_day_number
    from listed
    group by board_code, board_name, board_kind, spell
)

select
    spells.board_code,
    spells.board_name,
    spells.board_kind,
    spells.valid_from,
    next_day.snapshot_date as valid_to,
    spells.last_observed
from spells
left join days as next_day on next_day.day_number = spells.last_day_number + 1
