-- The membership of the latest complete day, with each board's name and kind as listed that day.
-- latest_complete_day() reads complete_days: depends_on: {{ ref('complete_days') }}

{% set latest_day = latest_complete_day() %}

select
    members.snapshot_date,
    members.board_code,
    list.board_name,
    list.board_kind,
    members.stock_code,
    any_value(members.stock_name) as stock_name,
    any_value(members.market) as market
from {{ ref('stg_board_members') }} as members
inner join {{ ref('stg_board_list') }} as list
    on list.snapshot_date = members.snapshot_date and list.board_code = members.board_code
where members.snapshot_date = date '{{ latest_day }}'
group by all
