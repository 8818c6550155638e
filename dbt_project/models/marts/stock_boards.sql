-- Per stock, the boards it is in on the latest complete day: industry boards and concept boards apart.

select
    stock_code,
    any_value(stock_name) as stock_name,
    any_value(market) as market,
    any_value(snapshot_date) as snapshot_date,
    coalesce(list(board_code order by board_code) filter (where board_kind = 'industry'), []) as industry_board_codes,
    coalesce(list(board_name order by board_code) filter (where board_kind = 'industry'), []) as industry_board_names,
    coalesce(list(board_code order by board_code) filter (where board_kind = 'concept'), []) as concept_board_codes,
    coalesce(list(board_name order by board_code) filter (where board_kind = 'concept'), []) as concept_board_names,
    count(*) as board_count
from {{ ref('board_membership_current') }}
group by stock_code
