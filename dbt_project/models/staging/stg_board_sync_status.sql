select
    snapshot_date::date as snapshot_date,
    upper(trim(board_code)) as board_code,
    reported_total::integer as reported_total,
    members::integer as members,
    coalesce(complete, false) as complete,
    coalesce(gone, false) as gone,
    last_error,
    synced_at::timestamp as synced_at
from {{ source('raw', 'board_sync_status') }}
