-- The label-space audit: every wnid of a label set (WordNet 3.0's view of it) with what the
-- census holds for it, per dataset (never pooled: each dataset of the warehouse lists every wnid
-- of the set; one row per wnid with dataset NULL where the warehouse holds no image). Faces are
-- the kept faces of the face annotator that found the most in the class within the dataset (one
-- annotator, never a sum over annotators).
with datasets as (
    select distinct dataset
    from {{ ref('stg_images') }}
),

images as (
    select
        dataset,
        wnid,
        -- image_id is stg_images' key: a count, not a distinct count of 14M ids at 21k size
        count(*) as n_images
    from {{ ref('stg_images') }}
    group by dataset, wnid
),

faces_per_annotator as (
    select
        annotator,
        dataset,
        wnid,
        count(distinct image_id) as n_images_with_faces,
        count(*) as n_faces
    from {{ ref('int_census_faces') }}
    group by annotator, dataset, wnid
),

faces as (
    select
        dataset,
        wnid,
        max(n_images_with_faces) as n_images_with_faces,
        max(n_faces) as n_faces
    from faces_per_annotator
    group by dataset, wnid
)

select
    synsets.label_set,
    datasets.dataset,
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
left join datasets on true
left join images on datasets.dataset = images.dataset and synsets.wnid = images.wnid
left join faces on datasets.dataset = faces.dataset and synsets.wnid = faces.wnid
