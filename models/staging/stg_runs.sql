-- raw.runs, one row per model run, cast to the contract's types.
with source as (
    select * from {{ source('raw', 'runs') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(stage as varchar) as stage,
        cast(annotator as varchar) as annotator,
        cast(model_digest as varchar) as model_digest,
        cast(params as json) as params,
        cast(dataset as varchar) as dataset,
        cast(started_at as timestamp) as started_at,
        cast(finished_at as timestamp) as finished_at,
        cast(status as varchar) as status
    from source
)

select * from renamed
