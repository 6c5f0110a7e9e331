{#- Per-image models downstream of the incremental layer int_image_outcomes, built
    incrementally too (BENCHMARKS.md 3j): a build after a new run recomputes only the images
    whose layer rows that run rewrote, instead of re-reading every winning result.

    A model opts in with materialized='incremental', incremental_strategy='append', the
    pre-hook prepare_image_delta(stage), the post-hook record_image_delta(), a `-- depends_on:`
    on int_image_outcomes, and image_delta_filter() in its where clause on the layer rows it
    reads (int_image_results aliased `results`: it carries the layer's built_at). Its rows must depend only on
    the layer row of their own annotator, stage and image (the image's winning result) and on
    raw result rows, which the raw contract lands with their image run (rows landing later
    change the run's result-row count, so the layer rebuilds its group: a 'groups' build).

    Each such model keeps <model>_consumed: the layer build it last read (the seq and built_at
    of the layer's build log, image_outcome_builds) and the md5 of its compiled SQL (vars and
    macros included). The next build recomputes only the images whose layer rows are newer
    than that build when every layer build since then was of kind 'runs' (no row went without
    a replacement) and the SQL is the same; otherwise (a rebuilt group, a full layer build, a
    dropped log, new code or other vars, a first build, --full-refresh) every image. -#}

{#- whether the table exists now: the tables of these macros are written by hooks, which dbt's
    relation cache does not see within the build that creates them -#}
{% macro table_exists(schema, identifier) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) as n from duckdb_tables() where database_name = current_database() "
        ~ "and schema_name = '" ~ schema ~ "' and table_name = '" ~ identifier ~ "'") -%}
    {{ return(found.rows[0]['n'] > 0) }}
{% endmacro %}

{% macro image_delta_consumed() -%}
    {{ this.schema }}.{{ this.identifier }}_consumed
{%- endmacro %}

{#- one row: the built_at after which the build reads the layer's rows (-infinity: all) -#}
{% macro image_delta_since() -%}
    {{ this.schema }}.{{ this.identifier }}_delta_since
{%- endmacro %}

{%- macro image_delta_condition(results) -%}
    {{ results }}.built_at > (select since from {{ image_delta_since() }})
{%- endmacro %}

{#- in the model's where clause, on its layer rows (aliased `results`): an incremental build
    reads the rows newer than the since its pre-hook stored (a scalar that DuckDB pushes into
    the layer's scan) -#}
{% macro image_delta_filter() %}
    {%- if is_incremental() %}
    and {{ image_delta_condition('results') }}
    {%- endif %}
{% endmacro %}

{#- the md5 of the model's compiled SQL (whitespace aside) without the incremental filter: its
    vars and macros as they were rendered, the same for a full and an incremental build -#}
{% macro image_delta_fingerprint() %}
    {%- set code = (model.compiled_code or '').split() | join(' ') -%}
    {%- set filter = (' and ' ~ image_delta_condition('results')).split() | join(' ') -%}
    {{ return(local_md5(code | replace(' ' ~ filter, ''))) }}
{% endmacro %}

{#- the built_at (a timestamp literal) after which the layer's rows are all that changed since
    this model last built, or none: every image -#}
{% macro image_delta_watermark() %}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set layer = ref('int_image_outcomes') -%}
    {%- set builds = image_outcome_builds(layer) -%}
    {%- if not table_exists(this.schema, this.identifier ~ '_consumed')
           or not table_exists(layer.schema, layer.identifier ~ '_builds') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(consumed.layer_built_at as varchar) as layer_built_at, "
        ~ "consumed.fingerprint = '" ~ image_delta_fingerprint() ~ "' as same_code, "
        ~ "exists (select 1 from " ~ builds ~ " as builds where builds.seq = consumed.layer_seq "
        ~ "and builds.built_at = consumed.layer_built_at) as known, "
        ~ "not exists (select 1 from " ~ builds ~ " as builds where builds.seq > consumed.layer_seq "
        ~ "and (builds.kind <> 'runs' or builds.built_at <= consumed.layer_built_at)) as only_runs "
        ~ "from " ~ image_delta_consumed() ~ " as consumed") -%}
    {%- if found.rows | length == 1 -%}
        {%- set row = found.rows[0] -%}
        {%- if row['same_code'] and row['known'] and row['only_runs'] -%}
            {{ return("cast('" ~ row['layer_built_at'] ~ "' as timestamp)") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{#- pre-hook: where an incremental build starts reading the layer, and the rows of the images
    it recomputes go (every row when it recomputes all): those whose layer row of `stage_name`
    (the stage the model reads) is newer, so a recomputed image with nothing to keep leaves no
    stale row -#}
{% macro prepare_image_delta(stage_name) %}
    {%- if is_incremental() -%}
        {%- set since = image_delta_watermark() -%}
        {%- if since is none %}
            {%- do log(this.identifier ~ ": recomputes every image (first build since a full, rebuilt "
                       ~ "or dropped layer, new code or vars)", info=false) %}
    create or replace table {{ image_delta_since() }} as select cast('-infinity' as timestamp) as since;
    delete from {{ this }}
        {%- else %}
    create or replace table {{ image_delta_since() }} as select {{ since }} as since;
    delete from {{ this }} as stored
    where exists (
        select 1
        from {{ ref('int_image_outcomes') }} as layer
        where
            {{ image_delta_condition('layer') }}
            and layer.stage = {{ stage(stage_name) }}
            and layer.annotator = stored.annotator
            and layer.image_id = stored.image_id
    )
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- post-hook: the layer build this model has now read and its fingerprint (a layer stored
    before its build log: none, so the next build recomputes every image) -#}
{% macro record_image_delta() %}
    {%- set layer = ref('int_image_outcomes') %}
    drop table if exists {{ image_delta_since() }};
    create or replace table {{ image_delta_consumed() }} as
    select
        max(builds.seq) as layer_seq,
        arg_max(builds.built_at, builds.seq) as layer_built_at,
        '{{ image_delta_fingerprint() }}' as fingerprint
    {%- if not table_exists(layer.schema, layer.identifier ~ '_builds') %}
    from (select cast(null as integer) as seq, cast(null as timestamp) as built_at) as builds
    {%- else %}
    from {{ image_outcome_builds(layer) }} as builds
    {%- endif %}
{% endmacro %}
