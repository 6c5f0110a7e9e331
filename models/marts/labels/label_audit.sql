-- The label-space audit: every wnid of a label set (WordNet 3.0's view of it) with what the
-- census holds for it. Counts are over every dataset; faces are the kept faces of the face
-- annotator that found the most in the class (one annotator, never a sum over annotators).
with images as (
    select
        wnid,
        count(distinct image_id) as n_images
    from {{ ref('stg_images') }}
    group by wnid
),

faces_per_annotator as (
    select
        annotator,
        wnid,
        count(distinct image_id) as n_images_with_faces,
        count(*) as n_faces
    from {{ ref('int_kept_faces') }}
    group by annotator, wnid
),

faces as (
    select
        wnid,
        max(n_images_with_faces) as n_images_with_faces,
        max(n_faces) as n_faces
    from faces_per_annotator
    group by wnid
)

select
    synsets.label_set,
    synsets.wnid,
    synsets.in_wordnet,
    synsets.synset,
    synsets.lemmas,
    synsets.lexname,
    synsets.depth,
    synsets.is_person,
    synsets.usage_domains,
    synsets.ethnic_slur,
    synsets.obscenity,
    synsets.disparagement,
    synsets.vulgarism,
    synsets.slang,
    synsets.colloquialism,
    coalesce(images.n_images, 0) as n_images,
    coalesce(faces.n_images_with_faces, 0) as n_images_with_faces,
    coalesce(faces.n_faces, 0) as n_faces
from {{ ref('stg_label_synsets') }} as synsets
left join images on synsets.wnid = images.wnid
left join faces on synsets.wnid = faces.wnid
