-- 2019 paper, Table 3: synsets (train split) with >= var synset_min_images images and a
-- face in >= var synset_min_face_share of them, ranked by share of women and of men within
-- each face annotator and dataset.
with train_classes as (
    select
        annotator,
        dataset,
        wnid,
        n_images,
        n_images_with_faces,
        n_faces,
        n_women,
        n_men,
        100 * n_women / (n_women + n_men) as pct_female,
        100 * n_men / (n_women + n_men) as pct_male
    from {{ ref('class_census') }}
    where
        split = 'train'
        and n_images >= {{ var('synset_min_images') }}
        and n_images_with_faces / n_images >= {{ var('synset_min_face_share') }}
        and n_women + n_men > 0
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
