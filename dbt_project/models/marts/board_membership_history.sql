-- One row per continuous stay of a stock in a board, over complete days only.
-- valid_from: the first complete day the stock was a member.
-- valid_to:   the first complete day it was no longer a member (exclusive end), null while still a member.
-- So a stock was in the board on complete day D when valid_from <= D and (valid_to is null or D < valid_to).
-- last_observed: the last complete day it was seen a member (the complete day before valid_to, or the latest
-- complete day while the stay is open). Between last_observed and valid_to there were only days not observed.
-- Incremental: stays that ended before the rebuilt days are kept; stays still open at that point are re-closed
-- from the rebuilt days' changes, and stays that begin in them are rebuilt.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['board_code', 'stock_code', 'valid_from'],
    pre_hook="{{ delete_rebuilt_days('valid_from') }}",
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ set_last_observed() }}",
        "{{ log_built_days(built_from='board_membership_changes') }}",
    ],
) }}

-- The incremental macros read complete_days: depends_on: {{ ref('complete_days') }}
{% set rebuild_from_day = rebuild_from() %}

with events as (
    select board_code, stock_code, snapshot_date as event_date, change, null::date as old_valid_to
    from {{ ref('board_membership_changes') }}
    where snapshot_date >= date '{{ rebuild_from_day }}'
    {% if is_incremental() %}
    union all
    -- Stays open on the day before the rebuild act as if they began again, so they get their new end.
    select board_code, stock_code, valid_from, 'added', valid_to
    from {{ this }}
    where valid_from < date '{{ rebuild_from_day }}'
        and (valid_to is null or valid_to >= date '{{ rebuild_from_day }}')
    {% endif %}
),

paired as (
    select
        *,
        lead(event_date) over stay as next_event_date
    from events
    window stay as (partition by board_code, stock_code order by event_date)
)

select
    board_code,
    stock_code,
    event_date as valid_from,
    next_event_date as valid_to,
    null::date as last_observed  -- set by the post_hook, which also moves it on stays the rebuild kept
from paired
where change = 'added'
    -- A kept stay whose end did not move needs no rewrite.
    and not (event_date < date '{{ rebuild_from_day }}' and next_event_date is not distinct from old_valid_to)
