-- 2019 paper, Table 3: synsets of each dataset's audit split (int_audit_splits: train) with
-- >= var synset_min_images images and a face in >= var synset_min_face_share of them, ranked
-- by share of women and of men within each face annotator and dataset.
with train_classes as (
    select
        census.annotator,
        census.dataset,
        census.wnid,
        census.n_images,
        census.n_images_with_faces,
        census.n_faces,
        census.n_women,
        census.n_men,
        100 * census.n_women / (census.n_women + census.n_men) as pct_female,
        100 * census.n_men / (census.n_women + census.n_men) as pct_male
    from {{ ref('class_census') }} as census
    inner join {{ ref('int_audit_splits') }} as audit
        on census.dataset = audit.dataset and census.split = audit.split
    where
        census.n_images >= {{ var('synset_min_images') }}
        and census.n_images_with_faces / census.n_images >= {{ var('synset_min_face_share') }}
        and census.n_women + census.n_men > 0
)

select
    annotator,
    dataset,
    wnid,
    n_images,
    n_images_with_faces,
    n_faces,
    n_women,
    n_men,
    pct_female,
    pct_male,
    row_number() over (partition by annotator, dataset order by pct_female desc, wnid asc) as rank_female,
    row_number() over (partition by annotator, dataset order by pct_male desc, wnid asc) as rank_male
from train_classes
