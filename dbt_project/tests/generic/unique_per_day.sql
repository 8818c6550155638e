{#
  No two rows share snapshot_date and `columns`. With `recent_days`, only the latest days are checked: older days
  were checked when they were new, and the raw tables are too large to re-check in full every day.
#}
{% test unique_per_day(model, columns, recent_days=none) %}
select snapshot_date, {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
{% if recent_days %}
where snapshot_date > (select max(snapshot_date) from {{ model }}) - {{ recent_days }}
{% endif %}
group by all
having count(*) > 1
{% endtest %}
