-- Per stock, the boards it is in on the latest complete day: industry boards and concept boards apart, and its
-- industry at each inferred level (industry_levels; null where the level is ambiguous or absent, e.g. level 2
-- and 3 in a list of one level only). A stock in exactly one industry board per level is the rule; min() picks
-- one should that ever break.

with current_members as (
    select current.*, levels.level
    from {{ ref('board_membership_current') }} as current
    left join {{ ref('industry_levels') }} as levels
        on levels.snapshot_date = current.snapshot_date and levels.board_code = current.board_code
        and current.board_kind = 'industry'
)

select
    stock_code,
    any_value(stock_name) as stock_name,
    any_value(market) as market,
    any_value(snapshot_date) as snapshot_date,
    coalesce(list(board_code order by board_code) filter (where board_kind = 'industry'), []) as industry_board_codes,
    coalesce(list(board_name order by board_code) filter (where board_kind = 'industry'), []) as industry_board_names,
    coalesce(list(board_code order by board_code) filter (where board_kind = 'concept'), []) as concept_board_codes,
    coalesce(list(board_name order by board_code) filter (where board_kind = 'concept'), []) as concept_board_names,
    count(*) as board_count,
    min(board_code) filter (where level = 1) as industry_level_1_code,
    arg_min(board_name, board_code) filter (where level = 1) as industry_level_1_name,
    min(board_code) filter (where level = 2) as industry_level_2_code,
    arg_min(board_name, board_code) filter (where level = 2) as industry_level_2_name,
    min(board_code) filter (where level = 3) as industry_level_3_code,
    arg_min(board_name, board_code) filter (where level = 3) as industry_level_3_name
from current_members
group by stock_code
