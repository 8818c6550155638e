select
    snapshot_date::date as snapshot_date,
    upper(trim(board_code)) as board_code,
    trim(board_name) as board_name,
    lower(trim(board_kind)) as board_kind,
    kind_total::integer as kind_total
from {{ source('raw', 'board_list') }}
