-- The image-level truth of every reference annotator (reference/<name>), one row per reference
-- and image it has ok: "does this image show a real human face?" (DESIGN.md, "Image-level
-- reference labels"). Image-level labels (stage image_faces) say it directly; a face-box
-- reference (stage faces) says yes where it has at least one face in the image and no where it
-- has the image ok with none. Where one reference has both for an image, its image-level label
-- wins (it is the labeller's answer to this very question).
with results as (
    select *
    from {{ ref('int_image_results') }}
    where
        stage in ({{ stage('image_faces') }}, {{ stage('faces') }})
        and {{ is_reference('annotator') }}
),

image_labels as (
    select
        results.annotator as reference,
        results.run_id,
        results.image_id,
        results.dataset,
        results.wnid,
        labels.label,
        labels.n_faces,
        'image_labels' as reference_kind
    from results
    inner join {{ ref('stg_image_face_labels') }} as labels
        on results.run_id = labels.run_id and results.image_id = labels.image_id
    where results.stage = {{ stage('image_faces') }}
),

box_faces as (
    select
        reference,
        image_id,
        count(*) as n_faces
    from {{ ref('int_reference_faces') }}
    group by reference, image_id
),

box_labels as (
    select
        results.annotator as reference,
        results.run_id,
        results.image_id,
        results.dataset,
        results.wnid,
        case when box_faces.n_faces > 0 then 'yes' else 'no' end as label,
        coalesce(box_faces.n_faces, 0) as n_faces,
        'faces' as reference_kind
    from results
    left join box_faces
        on results.annotator = box_faces.reference and results.image_id = box_faces.image_id
    where results.stage = {{ stage('faces') }}
)

select * from image_labels
union all
select box_labels.*
from box_labels
where not exists (
    select 1
    from image_labels
    where image_labels.reference = box_labels.reference and image_labels.image_id = box_labels.image_id
)
