{{ config(meta={'dagster': {'ref': {'name': 'board_membership_history'}}}) }}
-- On the latest complete day, three views of membership agree exactly: the snapshot (board_membership_current),
-- the open stays of the history, and the net result of replaying every change.

with current_members as (
    select board_code, stock_code from {{ ref('board_membership_current') }}
),

open_stays as (
    select board_code, stock_code from {{ ref('board_membership_history') }} where valid_to is null
),

replayed as (
    select board_code, stock_code
    from {{ ref('board_membership_changes') }}
    group by board_code, stock_code
    having sum(case when change = 'added' then 1 else -1 end) = 1
),

mismatches as (
    (select *, 'in current, not an open stay' as problem from (select * from current_members except select * from open_stays))
    union all
    (select *, 'open stay, not in current' from (select * from open_stays except select * from current_members))
    union all
    (select *, 'in current, not replayed' from (select * from current_members except select * from replayed))
    union all
    (select *, 'replayed, not in current' from (select * from replayed except select * from current_members))
)

select * from mismatches
