-- The faces `ingest export blurred` blurs, one row per face box of a face annotator: the
-- faces the census keeps (int_kept_faces: the winning face run of each image, every annotator,
-- reference labels included), and the other boxes of that run whose is_face "yes" reviewers
-- confirmed (confirmed_flags). Boxes come from stg_faces, where a non-finite coordinate is
-- NULL; the export counts such faces and blurs nothing for them.
with kept as (
    select
        kept.dataset,
        kept.annotator,
        kept.image_id,
        images.rel_path,
        kept.face_idx,
        faces.x1,
        faces.y1,
        faces.x2,
        faces.y2,
        'kept' as source
    from {{ ref('int_kept_faces') }} as kept
    inner join {{ ref('stg_faces') }} as faces
        on
            kept.run_id = faces.run_id
            and kept.image_id = faces.image_id
            and kept.face_idx = faces.face_idx
    inner join {{ ref('stg_images') }} as images
        on kept.image_id = images.image_id
),

-- a confirmed box of the annotator's winning face run that the census does not keep
confirmed as (
    select
        flags.dataset,
        flags.annotator,
        flags.image_id,
        flags.rel_path,
        flags.face_idx,
        faces.x1,
        faces.y1,
        faces.x2,
        faces.y2,
        'confirmed_by_review' as source
    from {{ ref('confirmed_flags') }} as flags
    inner join {{ ref('int_image_results') }} as results
        on
            results.stage = {{ stage('faces') }}
            and flags.annotator = results.annotator
            and flags.image_id = results.image_id
    inner join {{ ref('stg_faces') }} as faces
        on
            results.run_id = faces.run_id
            and flags.image_id = faces.image_id
            and flags.face_idx = faces.face_idx
    where
        flags.question = 'is_face'
        and not exists (
            select 1
            from {{ ref('int_kept_faces') }} as kept_faces
            where
                kept_faces.annotator = flags.annotator
                and kept_faces.image_id = flags.image_id
                and kept_faces.face_idx = flags.face_idx
        )
)

select * from kept
union all
select * from confirmed
