-- Who joined and who left each board between two consecutive complete days. A board that appears has all its
-- members 'added'; a board that disappears has all its members 'removed'. On the first complete day there is no
-- day before, so every member is 'added': replaying the changes from the start gives each day's membership.
-- Incremental: a build reads only the days it rebuilds and the complete day before them.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_rebuilt_days('snapshot_date') }}",
    post_hook="{{ log_built_days() }}",
) }}

{% set rebuild_from_day = rebuild_from() %}
{% set day_before_rebuild = previous_complete_day(rebuild_from_day) %}

with days as (
    select snapshot_date, previous_complete_date
    from {{ ref('complete_days') }}
    where snapshot_date >= date '{{ rebuild_from_day }}'
),

members as (
    -- The literal lower bound lets DuckDB skip the row groups of older days.
    select distinct snapshot_date, board_code, stock_code
    from {{ ref('stg_board_members') }}
    where snapshot_date >= date '{{ day_before_rebuild }}'
        and snapshot_date in (
            select snapshot_date from days
            union all
            select previous_complete_date from days
        )
),

on_day as (
    select days.snapshot_date, members.board_code, members.stock_code
    from days
    inner join members on members.snapshot_date = days.snapshot_date
),

on_day_before as (
    select days.snapshot_date, members.board_code, members.stock_code
    from days
    inner join members on members.snapshot_date = days.previous_complete_date
),

added as (
    select * from on_day
    except
    select * from on_day_before
),

removed as (
    select * from on_day_before
    except
    select * from on_day
)

select snapshot_date, board_code, stock_code, 'added' as change from added
union all
select snapshot_date, board_code, stock_code, 'removed' as change from removed
