{#
  How the incremental models stay correct when old days change.

  A day's snapshot can change after it was built: a re-sync replaces it, a day becomes complete later, or a
  failed re-sync makes it incomplete. Each incremental model therefore records, after a successful build, the
  complete days and their `day_version` it was built from (table marts.incremental_log). The next build compares
  that record with `complete_days` and rebuilds from the earliest day that differs: everything from that day on
  is deleted and recomputed, everything before it is kept. Rebuilding from too early a day is only slower, never
  wrong, so a failed or skipped build simply makes the next one start earlier.
#}

{% macro create_incremental_log() %}
    create schema if not exists marts;
    create table if not exists marts.incremental_log (
        model_name varchar,
        snapshot_date date,
        day_version varchar
    );
{% endmacro %}


{# The first day to rebuild, as a 'YYYY-MM-DD' string: '1900-01-01' on a full build, '9999-12-31' when nothing changed. #}
{% macro rebuild_from() %}
    {% if not execute or not is_incremental() %}
        {{ return('1900-01-01') }}
    {% endif %}
    {% set query %}
        with now_complete as (
            select snapshot_date, day_version from {{ ref('complete_days') }}
        ),
        last_built as (
            select snapshot_date, day_version from marts.incremental_log
            where model_name = '{{ this.identifier }}'
        ),
        changed as (
            (select * from now_complete except select * from last_built)
            union all
            (select * from last_built except select * from now_complete)
        )
        select coalesce(min(snapshot_date), date '9999-12-31')::varchar from changed
    {% endset %}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}


{# pre_hook: drop the rows of the days about to be rebuilt. #}
{% macro delete_rebuilt_days(date_column) %}
    {% if is_incremental() %}
        delete from {{ this }} where {{ date_column }} >= date '{{ rebuild_from() }}'
    {% endif %}
{% endmacro %}


{#
  post_hook: record the complete days this build reflects. A model built from another incremental model
  (`built_from`) reflects what that model reflected, which is stale if that model was not rebuilt first (a
  Dagster run of a subset of the assets): recording that makes the next build redo the stale days.
#}
{% macro log_built_days(built_from=none) %}
    delete from marts.incremental_log where model_name = '{{ this.identifier }}';
    insert into marts.incremental_log
    {% if built_from %}
    select '{{ this.identifier }}', snapshot_date, day_version from marts.incremental_log
    where model_name = '{{ built_from }}';
    {% else %}
    select '{{ this.identifier }}', snapshot_date, day_version from {{ ref('complete_days') }};
    {% endif %}
{% endmacro %}


{# The latest complete day as a literal, so DuckDB can skip older row groups of the raw tables. #}
{% macro latest_complete_day() %}
    {% if not execute %}
        {{ return('1900-01-01') }}
    {% endif %}
    {% set query %}
        select coalesce(max(snapshot_date), date '1900-01-01')::varchar from {{ ref('complete_days') }}
    {% endset %}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}


{# The complete day before `day` ('YYYY-MM-DD'), or `day` itself when there is none. #}
{% macro previous_complete_day(day) %}
    {% if not execute %}
        {{ return('1900-01-01') }}
    {% endif %}
    {% set query %}
        select coalesce(max(snapshot_date), date '{{ day }}')::varchar
        from {{ ref('complete_days') }} where snapshot_date < date '{{ day }}'
    {% endset %}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}


{#
  post_hook of board_membership_history: last_observed of every stay, fixed wherever it is not yet right. Done
  after the insert rather than in the select because the select rewrites only the stays whose end moved, while
  a day completed late or a new latest day moves last_observed of stays it keeps. Only rows that change are
  written.
#}
{% macro set_last_observed() %}
    update {{ this }} as stay
    set last_observed = days.previous_complete_date
    from {{ ref('complete_days') }} as days
    where days.snapshot_date = stay.valid_to
        and stay.last_observed is distinct from days.previous_complete_date;
    update {{ this }}
    set last_observed = (select max(snapshot_date) from {{ ref('complete_days') }})
    where valid_to is null
        and last_observed is distinct from (select max(snapshot_date) from {{ ref('complete_days') }});
{% endmacro %}
