{#- The run ledger of the incremental int_image_outcomes (BENCHMARKS.md, sections 3e and 3f): what
    every run looked like when the model last built, so that the next build re-does only the
    images a new run touched.

    image_outcome_runs(): one row per run of raw.runs with the fingerprint of its image rows
      (count and an order-free hash of image_id and status) and the count of its result rows
      (raw.faces, raw.nsfw, raw.predictions): result rows added or removed after their image
      run was built (the raw contract lands them together; a tool writing the raw tables by
      hand may not) change the count, so the run's group is recomputed and n_result_rows, which
      the face readers filter on before joining raw.faces, follows. Rows rewritten in place
      keep the count: those need `dbt build --full-refresh`. The model's first pre-hook stores
      it once per build as <model>_runs_now (image_outcome_runs_now()): the build compares
      against it, and the post-hook renames it to <model>_runs, in the model's transaction; at
      ImageNet-21k size each fingerprint is a scan of 71M image runs (and of the result tables'
      run_id), so it is taken once. So the compiled incremental SQL (target/run/...) reads a
      table that exists only while the model builds: to debug it by hand, create
      <model>_runs_now with image_outcome_runs() first.
    image_outcome_ledger(): that stored relation, or none (first build, dropped, full refresh,
      or stored before the result-row count).
    image_outcome_rebuilt_groups(ledger): the (annotator, stage) groups whose every image is
      recomputed: groups of a run the ledger knows whose fingerprint, result-row count, start
      time, annotator or stage changed (a resumed run, landed parts, late result rows) or which
      is gone from raw.runs. A run the ledger does not know is new: only its images are
      recomputed. -#}
{% macro image_outcome_runs() %}
    select
        runs.run_id,
        runs.annotator,
        runs.stage,
        runs.started_at,
        coalesce(run_rows.n_image_runs, 0) as n_image_runs,
        coalesce(run_rows.rows_hash, 0) as rows_hash,
        coalesce(result_rows.n_result_rows, 0) as n_result_rows
    from {{ ref('stg_runs') }} as runs
    left join (
        select
            run_id,
            count(*) as n_image_runs,
            bit_xor(hash(image_id, status)) as rows_hash
        from {{ ref('stg_image_runs') }}
        group by run_id
    ) as run_rows
        on runs.run_id = run_rows.run_id
    left join (
        select
            run_id,
            count(*) as n_result_rows
        from (
            select run_id from {{ ref('stg_faces') }}
            union all
            select run_id from {{ ref('stg_nsfw') }}
            union all
            select run_id from {{ ref('stg_predictions') }}
        ) as result_row_runs
        group by run_id
    ) as result_rows
        on runs.run_id = result_rows.run_id
{% endmacro %}

{#- a ledger stored before the result-row count (n_result_rows) cannot see rows that landed
    late: none, so that build recomputes every image once -#}
{% macro image_outcome_ledger() %}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set ledger = adapter.get_relation(database=this.database, schema=this.schema,
                                              identifier=this.identifier ~ '_runs') -%}
        {%- if ledger is not none -%}
            {%- set columns = adapter.get_columns_in_relation(ledger) | map(attribute='name') | map('lower') | list -%}
            {%- if 'n_result_rows' in columns -%}
                {{ return(ledger) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{% macro image_outcome_rebuilt_groups(ledger) %}
    select
        coalesce(now_runs.annotator, ledger.annotator) as annotator,
        coalesce(now_runs.stage, ledger.stage) as stage
    from {{ image_outcome_runs_now() }} as now_runs
    right join {{ ledger }} as ledger
        on now_runs.run_id = ledger.run_id
    where
        now_runs.run_id is null
        or now_runs.annotator is distinct from ledger.annotator
        or now_runs.stage is distinct from ledger.stage
        or now_runs.started_at is distinct from ledger.started_at
        or now_runs.n_image_runs is distinct from ledger.n_image_runs
        or now_runs.rows_hash is distinct from ledger.rows_hash
        or now_runs.n_result_rows is distinct from ledger.n_result_rows
    union
    -- a run that moved to another annotator or stage: its old group is rebuilt too
    select
        ledger.annotator,
        ledger.stage
    from {{ ledger }} as ledger
    inner join {{ image_outcome_runs_now() }} as now_runs
        on ledger.run_id = now_runs.run_id
    where now_runs.annotator is distinct from ledger.annotator or now_runs.stage is distinct from ledger.stage
{% endmacro %}

{#- The scope of an incremental build (nothing in a full one), as two small materialized CTEs
    that int_image_outcomes places before its image runs (image_outcome_scope_ctes) and a
    where clause on them (image_outcome_scope): the image runs of the rebuilt groups, of the
    images a run the ledger does not know attempted, in that run's group, and of images that
    were missing from raw.images when their row was built. Materialized
    once, they are read by every stage's branch as a small semi-join. -#}
{% macro image_outcome_scope_ctes(ledger) %}
    {%- if ledger is not none %}
rebuilt_run_groups as materialized (
    select distinct run_order.run_group
    from run_order
    inner join ({{ image_outcome_rebuilt_groups(ledger) }}) as rebuilt
        on rebuilt.annotator = run_order.annotator and rebuilt.stage = run_order.stage
),

new_run_images as materialized (
    select distinct
        run_order.run_group,
        new_rows.image_id
    from {{ ref('stg_image_runs') }} as new_rows
    inner join run_order
        on new_rows.run_id = run_order.run_id
    -- a join, not a "not in": the few new run ids reach the scan as a filter, which skips the
    -- row groups of other runs
    inner join (
        select now_runs.run_id from {{ image_outcome_runs_now() }} as now_runs
        where now_runs.run_id not in (select ledger.run_id from {{ ledger }} as ledger)
    ) as new_runs
        on new_rows.run_id = new_runs.run_id
    union
    -- images that were missing from raw.images at an earlier build (their stored rows have no
    -- dataset): recomputed until the image has landed
    select
        run_order.run_group,
        stored.image_id
    from {{ this }} as stored
    inner join run_order
        on stored.annotator = run_order.annotator and stored.stage = run_order.stage
    where stored.dataset is null
),
    {%- endif %}
{% endmacro %}

{% macro image_outcome_scope(ledger) %}
    {%- if ledger is not none %}
    where
        -- the groups in scope first (a condition on run_order alone, so it filters the runs
        -- before the join and a stage's branch with no group in scope reads no image run)
        run_order.run_group in (
            select rebuilt_run_groups.run_group from rebuilt_run_groups
            union all
            select new_run_images.run_group from new_run_images
        )
        and (
            run_order.run_group in (select rebuilt_run_groups.run_group from rebuilt_run_groups)
            or exists (
                select 1
                from new_run_images
                where new_run_images.run_group = run_order.run_group and new_run_images.image_id = image_runs.image_id
            )
        )
    {%- endif %}
{% endmacro %}

{#- An incremental build reads the result rows of its own winners only (a join on run and image);
    a full build reads them all, which is cheaper than the join. -#}
{% macro image_outcome_own_winners(results, winners, ledger) %}
    {%- if ledger is not none %}
    inner join {{ winners }}
        on {{ results }}.run_id = {{ winners }}.run_id and {{ results }}.image_id = {{ winners }}.image_id
    {%- endif %}
{% endmacro %}

{#- raw.images for the rows a build writes: a full build reads it whole (a hash join over every
    image, for the label ranks and for the wide columns); an incremental one reads only the
    images of `needed` (a CTE of its own rows), so a handful of new rows does not make DuckDB
    build a hash table of every image (14M at ImageNet-21k size; BENCHMARKS.md 3h). -#}
{% macro image_outcome_images(ledger, needed) %}
    {%- if ledger is none -%}
        {{ ref('stg_images') }}
    {%- else -%}
        (select * from {{ ref('stg_images') }} where image_id in (select {{ needed }}.image_id from {{ needed }}))
    {%- endif -%}
{% endmacro %}

{#- When this dbt invocation started (run_started_at, UTC), as a timestamp literal: the rows a
    build writes carry it (int_image_outcomes.built_at). -#}
{% macro build_started_at() -%}
    {#- run_started_at is dbt's: sqlfluff's templater has no such variable -#}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") if run_started_at is defined else "2000-01-01" }}' as timestamp)
{%- endmacro %}

{% macro image_outcome_runs_now() -%}
    {{ this.schema }}.{{ this.identifier }}_runs_now
{%- endmacro %}

{#- The layer's build log, <model>_builds: one row per build (seq, built_at, kind), written by a
    pre-hook in the model's transaction, so a failed build leaves no row. kind says which rows
    the build rewrote: 'runs' (only the images of runs the ledger did not know, and images still
    missing from raw.images: every row it rewrote carries its built_at and no row went without
    a replacement), 'groups' (also whole annotator-and-stage groups, whose images may have gone)
    or 'full' (every row: a first build, a full refresh, no ledger of this version). The
    per-image models downstream (macros/image_deltas.sql) read it to know whether the rows
    with a newer built_at are all that changed. -#}
{% macro image_outcome_builds(layer) -%}
    {{ layer.schema }}.{{ layer.identifier }}_builds
{%- endmacro %}

{% macro image_outcome_build_kind(ledger) -%}
    {%- if ledger is none -%}
        'full'
    {%- else -%}
        case when exists ({{ image_outcome_rebuilt_groups(ledger) }}) then 'groups' else 'runs' end
    {%- endif -%}
{%- endmacro %}

{% macro record_image_outcome_build() %}
    create table if not exists {{ image_outcome_builds(this) }} (
        seq integer primary key,
        built_at timestamp not null,
        kind varchar not null
    );
    insert into {{ image_outcome_builds(this) }}
    select
        coalesce((select max(seq) from {{ image_outcome_builds(this) }}), 0) + 1 as seq,
        {{ build_started_at() }} as built_at,
        {{ image_outcome_build_kind(image_outcome_ledger()) }} as kind
{% endmacro %}

{#- first pre-hook of int_image_outcomes: this build's fingerprints, taken once -#}
{% macro fingerprint_image_outcome_runs() %}
    create or replace table {{ image_outcome_runs_now() }} as
    {{ image_outcome_runs() }}
{% endmacro %}

{#- first post-hook of int_image_outcomes, inside the model's transaction: a build whose rows
    repeat an (annotator, stage, image) key fails and writes nothing (DuckDB's error() rolls the
    transaction back), so no stored state ever holds a repeated key. It reads the rows this build
    wrote (built_at): every row of a full build; an incremental build's delete+insert first
    removed every stored row with a key it inserts, so only its own rows can repeat one.
    Where the warehouse enforces the primary keys of raw.runs, raw.images, raw.image_runs and
    raw.nsfw (the raw schema declares them), the key follows from them and the check is left out
    (about 8 s of a full build at ImageNet-21k size, BENCHMARKS.md 3h): each branch of the model
    groups by its key or reads one run's image runs, and every join that keeps rows one to one
    meets a source on its primary key. -#}
{% macro image_outcome_keys_enforced() %}
    {%- set keys = [
        (source('raw', 'runs'), ['run_id']),
        (source('raw', 'images'), ['image_id']),
        (source('raw', 'image_runs'), ['run_id', 'image_id']),
        (source('raw', 'nsfw'), ['run_id', 'image_id']),
    ] -%}
    {%- for relation, columns in keys -%}
        {%- if not warehouse_enforces(relation, 'unique', columns) -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{% endmacro %}

{% macro refuse_repeated_image_outcomes() %}
    {%- if not image_outcome_keys_enforced() %}
    select error(
        'int_image_outcomes: ' || count(*) || ' annotator, stage and image combinations repeat (e.g. '
        || any_value(annotator || ', ' || stage || ', ' || image_id) || '), so the build wrote nothing. '
        || 'Look for a repeated (run_id, image_id) in raw.image_runs (its key test says where).'
    )
    from (
        {{ repeated_combinations(
            "(select * from " ~ this ~ " where built_at = " ~ build_started_at() ~ ")",
            ['annotator', 'stage', 'image_id']
        ) }}
    ) as repeated
    having count(*) > 0
    {%- endif %}
{% endmacro %}

{#- post-hook of int_image_outcomes: this build's fingerprints become the ledger the next build
    compares against -#}
{% macro record_image_outcome_runs() %}
    drop table if exists {{ this.schema }}.{{ this.identifier }}_runs;
    alter table {{ image_outcome_runs_now() }} rename to {{ this.identifier }}_runs
{% endmacro %}

{#- pre-hook of int_image_outcomes: in an incremental build, the rows of the rebuilt groups go
    (all rows when there is no ledger); the model then inserts those groups afresh, so an
    image no run of its group has any more leaves no stale row -#}
{% macro clear_rebuilt_image_outcomes() %}
    {%- if is_incremental() -%}
        {%- set ledger = image_outcome_ledger() -%}
        {%- if ledger is none %}
            {%- do log(this.identifier ~ ": no run ledger of this version (dropped, or stored by an earlier "
                       ~ "version): this build recomputes every image once", info=true) %}
    delete from {{ this }}
        {%- else %}
    delete from {{ this }} as outcomes
    where exists (
        select 1
        from ({{ image_outcome_rebuilt_groups(ledger) }}) as rebuilt
        where rebuilt.annotator = outcomes.annotator and rebuilt.stage = outcomes.stage
    )
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
