-- 2019 paper, Table 3: the top synsets (train) for apparent women and for apparent men,
-- among synsets with >= synset_min_images images and faces in >= synset_min_face_share.
select
    ranks.annotator,
    ranks.dataset,
    'female' as gender,
    ranks.rank_female as rank,
    ranks.wnid,
    classes.label,
    round(ranks.pct_female, 2) as pct,
    ranks.n_faces
from {{ ref('synset_gender_rank') }} as ranks
left join {{ ref('imagenet_classes') }} as classes
    on ranks.wnid = classes.wnid
where ranks.rank_female <= 10

union all

select
    ranks.annotator,
    ranks.dataset,
    'male' as gender,
    ranks.rank_male as rank,
    ranks.wnid,
    classes.label,
    round(ranks.pct_male, 2) as pct,
    ranks.n_faces
from {{ ref('synset_gender_rank') }} as ranks
left join {{ ref('imagenet_classes') }} as classes
    on ranks.wnid = classes.wnid
where ranks.rank_male <= 10

order by annotator, dataset, gender, rank
