{#- Per-image models downstream of the incremental layer int_image_outcomes, built
    incrementally too (BENCHMARKS.md 3j): a build after a new run recomputes only the images
    whose layer rows that run rewrote, instead of re-reading every winning result.

    A model opts in with materialized='incremental', incremental_strategy='append',
    meta={'image_delta': {'stage': <the stage of the layer rows it reads>}}, the pre-hook
    prepare_image_delta(), the post-hook record_image_delta(), a `-- depends_on:` on
    int_image_outcomes, and image_delta_filter() in the where clause on the layer rows it
    reads (int_image_results aliased `results`: it carries the layer's built_at). Its rows of
    an annotator and image must follow from that annotator's layer row of the stage for the
    image and from raw result rows, which the raw contract lands with their image run (rows
    landing later change the run's result-row count, so the layer rebuilds its group: a
    'groups' build). A model whose rows of an image read other annotators' results (e.g.
    review_queue's box matching) does not fit: BENCHMARKS.md 3j measured one that recomputed
    every annotator of the changed images, and it cost more than it saved.

    Each such model keeps <model>_consumed: the layer build it last read (the seq and built_at
    of the layer's build log, image_outcome_builds) and a fingerprint of its code
    (image_delta_fingerprint). The next build recomputes only the images whose layer rows are
    newer than that build when every layer build since then was of kind 'runs' (no row went
    without a replacement) and the fingerprint is the same; otherwise (a rebuilt group, a full
    layer build, a dropped log, new code or other vars, a first build, --full-refresh) every
    image. The pre-hook stores where the build starts reading in <model>_delta_since, which
    the post-hook drops: to run an incremental compiled SQL of target/ by hand, create that
    one-row table (since) first. The models set on_schema_change='fail': a version whose
    contract changes their columns says to run `dbt build --full-refresh`.
    Layer rows with a NULL built_at (written before the column existed) would be read by no
    incremental build; none remain, since the ledger upgrade of image_outcome_ledger()
    recomputed every row. -#}

{#- whether the table `name` (schema.table, as the macros naming them write it) exists now: the
    tables of these macros are written by hooks, which dbt's relation cache does not see within
    the build that creates them -#}
{% macro table_exists(name) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) as n from duckdb_tables() where database_name = current_database() "
        ~ "and schema_name || '.' || table_name = '" ~ name ~ "'") -%}
    {{ return(found.rows[0]['n'] > 0) }}
{% endmacro %}

{% macro image_delta_consumed() -%}
    {{ this.schema }}.{{ this.identifier }}_consumed
{%- endmacro %}

{#- one row: the built_at after which the build reads the layer's rows (-infinity: all) -#}
{% macro image_delta_since() -%}
    {{ this.schema }}.{{ this.identifier }}_delta_since
{%- endmacro %}

{% macro image_delta_stage() %}
    {#- sqlfluff's templater has no model -#}
    {%- set settings = (model.config.meta or {}).get('image_delta', {}) if model is defined else {} -%}
    {{ return(settings.get('stage')) }}
{% endmacro %}

{#- the layer rows of the model's stage newer than the since (a scalar that DuckDB pushes
    into the layer's scan) -#}
{% macro image_delta_newer(layer) -%}
    {{ layer }}.built_at > (select since from {{ image_delta_since() }})
    and {{ layer }}.stage = {{ stage(image_delta_stage()) }}
{%- endmacro %}

{#- in the model's where clause: an incremental build reads only the images it recomputes -#}
{% macro image_delta_filter() %}
    {%- if is_incremental() %}
    and {{ image_delta_newer('results') }}
    {%- endif %}
{% endmacro %}

{#- the md5 of what the model's rows follow from besides the data: its compiled SQL (whitespace
    aside) without the incremental filter (its vars and macros as rendered, the same for a full
    and an incremental build), its contract, the code of every model and seed before it, and
    the SQL of the views among them as the warehouse holds them now (their macros and vars) -#}
{% macro image_delta_fingerprint() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set code = (model.compiled_code or '').split() | join(' ') -%}
    {%- set filter = (' and ' ~ image_delta_newer('results')).split() | join(' ') -%}
    {%- set parts = [code | replace(' ' ~ filter, ''), 'contract ' ~ model.contract.checksum] -%}
    {%- set queue = model.depends_on.nodes | list -%}
    {%- set ancestors = [] -%}
    {%- set views = ["''"] -%}
    {%- for unique_id in queue if unique_id not in ancestors and unique_id in graph.nodes -%}
        {%- set node = graph.nodes[unique_id] -%}
        {%- do ancestors.append(unique_id) -%}
        {%- do parts.append(unique_id ~ ' ' ~ (node.raw_code or node.checksum.checksum)) -%}
        {%- do queue.extend(node.depends_on.nodes) -%}
        {%- if node.config.materialized == 'view' -%}
            {%- do views.append("'" ~ node.schema ~ "." ~ node.alias ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set views = run_query(
        "select schema_name || '.' || view_name || ' ' || sql as view_sql from duckdb_views() "
        ~ "where database_name = current_database() and schema_name || '.' || view_name in ("
        ~ views | join(', ') ~ ")") -%}
    {%- for row in views.rows -%}
        {%- do parts.append(row['view_sql']) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | sort | join('\n'))) }}
{% endmacro %}

{#- the built_at (a timestamp literal) after which the layer's rows are all that changed since
    this model last built, or none: every image -#}
{% macro image_delta_watermark() %}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set layer = ref('int_image_outcomes') -%}
    {%- set builds = image_outcome_builds(layer) -%}
    {%- if not table_exists(image_delta_consumed()) or not table_exists(builds) -%}
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
    it recomputes go (every row when it recomputes all), so a recomputed image with nothing to
    keep leaves no stale row -#}
{% macro prepare_image_delta() %}
    {%- if is_incremental() -%}
        {%- set since = image_delta_watermark() -%}
        {%- if since is none -%}
            {%- do log(this.identifier ~ ": recomputes every image (first build since a full, rebuilt "
                       ~ "or dropped layer, new code or vars)", info=false) -%}
        {%- endif %}
    create or replace table {{ image_delta_since() }} as
    select {{ since if since is not none else "cast('-infinity' as timestamp)" }} as since;
    delete from {{ this }} as stored
    where {{ image_delta_recomputed('stored') if since is not none else 'true' }}
    {%- endif -%}
{% endmacro %}

{#- the stored rows of the images a build recomputes -#}
{% macro image_delta_recomputed(stored) -%}
    exists (
        select 1
        from {{ ref('int_image_outcomes') }} as layer
        where
            {{ image_delta_newer('layer') }}
            and layer.annotator = {{ stored }}.annotator
            and layer.image_id = {{ stored }}.image_id
    )
{%- endmacro %}

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
    {%- if not table_exists(image_outcome_builds(layer)) %}
    from (select cast(null as integer) as seq, cast(null as timestamp) as built_at) as builds
    {%- else %}
    from {{ image_outcome_builds(layer) }} as builds
    {%- endif %}
{% endmacro %}
