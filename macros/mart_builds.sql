{#- The record of each mart build, read by `ingest summary|card|report|export` to say when the
    marts are older than the raw rows (ingest/outputs/freshness.py computes the same fingerprint now).
    create_mart_build_log: on-run-start, once per dbt invocation (never two threads creating
    the table at once). record_mart_build: a post-hook of every mart (dbt_project.yml), run only
    when the mart built: the newest run time and the row count of every raw.* table as the
    mart finished (a raw table added to the contract later is counted with no change here). -#}
{% macro create_mart_build_log() %}
    create schema if not exists meta;
    create table if not exists meta.mart_builds (
        mart varchar primary key,
        built_at timestamptz,
        last_run_at timestamp,
        raw_rows json
    )
{% endmacro %}

{% macro record_mart_build() %}
    {%- set counts = [] -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            ~ "and table_type = 'BASE TABLE' order by table_name") -%}
        {%- for table in found.columns[0].values() -%}
            {%- do counts.append("'" ~ table ~ "', (select count(*) from raw.\"" ~ table ~ "\")") -%}
        {%- endfor -%}
    {%- endif %}
    insert or replace into meta.mart_builds
    select
        '{{ this.identifier }}' as mart,
        current_timestamp as built_at,
        (select max(coalesce(finished_at, started_at)) from raw.runs) as last_run_at,
        json_object({{ counts | join(', ') }}) as raw_rows
{% endmacro %}
