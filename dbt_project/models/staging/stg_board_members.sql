select
    snapshot_date::date as snapshot_date,
    upper(trim(board_code)) as board_code,
    upper(trim(stock_code)) as stock_code,
    trim(stock_name) as stock_name,
    upper(trim(market)) as market
from {{ source('raw', 'board_members') }}
