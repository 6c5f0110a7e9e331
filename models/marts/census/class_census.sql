-- Placeholder-free minimal census (the census issue replaces it with the full mart).
with latest as (
    select
        annotator,
        image_id,
        run_id,
        row_number() over (
            partition by annotator, image_id order by run_started_at desc, run_id desc
        ) as recency
    from {{ ref('stg_image_runs') }}
    where stage = 'faces' and status = 'ok'
),

kept_faces as (
    select
        latest.annotator,
        faces.image_id,
        faces.age,
        faces.gender_score
    from latest
    inner join {{ ref('stg_faces') }} as faces
        on latest.run_id = faces.run_id and latest.image_id = faces.image_id
    where latest.recency = 1 and faces.det_score >= {{ var('face_min_score') }}
)

select
    latest.annotator,
    images.wnid,
    images.split,
    count(distinct latest.image_id) as n_images,
    count(distinct kept_faces.image_id) as n_images_with_faces,
    count(kept_faces.image_id) as n_faces,
    avg(kept_faces.age) as mean_age,
    avg(kept_faces.gender_score) as mean_gender
from latest
inner join {{ ref('stg_images') }} as images on latest.image_id = images.image_id
left join kept_faces
    on latest.annotator = kept_faces.annotator and latest.image_id = kept_faces.image_id
where latest.recency = 1
group by latest.annotator, images.wnid, images.split
