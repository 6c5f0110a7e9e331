-- raw.faces, one row per detected face at every detector score, cast to the contract's
-- types (the census keeps det_score >= var face_min_score in int_kept_faces). A non-finite
-- score, box coordinate or age (only an old warehouse, created before the schema's CHECK
-- constraints, can hold one) becomes NULL: it never reaches a mart.
with source as (
    select * from {{ source('raw', 'faces') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(face_idx as integer) as face_idx,
        {{ finite_or_null('det_score') }} as det_score,
        {{ finite_or_null('x1') }} as x1,
        {{ finite_or_null('y1') }} as y1,
        {{ finite_or_null('x2') }} as x2,
        {{ finite_or_null('y2') }} as y2,
        {{ finite_or_null('age') }} as age,
        {{ finite_or_null('gender_score') }} as gender_score,
        cast(verified as boolean) as verified,
        cast(verdict as varchar) as verdict,
        cast(evidence as json) as evidence
    from source
)

select * from renamed
