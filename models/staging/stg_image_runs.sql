-- raw.image_runs, one row per image a run processed (ok, zero faces included, or error),
-- cast to the contract's types. The run's annotator and stage join in int_image_results.
with source as (
    select * from {{ source('raw', 'image_runs') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(status as varchar) as status,
        cast(error as varchar) as error
    from source
)

select * from renamed
