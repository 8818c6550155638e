{#
  The stays of one key (e.g. board and stock) never overlap: each starts after the previous one ended, only the
  last may be open (valid_to null), and none ends before it starts. valid_to is the first day absent, so a stay
  starting on the previous stay's valid_to would mean the stock never left: that counts as an overlap too,
unless `adjacent` allows it (a board's name spells: a rename ends one on the day the next begins).
#}
{% test no_overlapping_stays(model, partition_by, valid_from='valid_from', valid_to='valid_to', adjacent=false) %}
with ordered as (
    select
        *,
        lag({{ valid_to }}) over stay as previous_valid_to,
        row_number() over stay as stay_number
    from {{ model }}
    window stay as (partition by {{ partition_by | join(', ') }} order by {{ valid_from }})
)

select *
from ordered
where {{ valid_to }} <= {{ valid_from }}
    or (stay_number > 1 and (previous_valid_to is null or previous_valid_to {{ '>' if adjacent else '>=' }} {{ valid_from }}))
{% endtest %}
