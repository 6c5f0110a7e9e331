-- Ranked synsets pass the 2019 filters, shares add up to 100, ranks are 1..n.
with ranked as (
    select
        annotator,
        wnid,
        n_images,
        n_images_with_faces,
        pct_female,
        pct_male,
        rank_female,
        rank_male,
        count(*) over (partition by annotator) as n_ranked
    from {{ ref('synset_gender_rank') }}
)

select
    annotator,
    wnid
from ranked
where
    n_images < {{ var('synset_min_images') }}
    or n_images_with_faces / n_images < {{ var('synset_min_face_share') }}
    or abs(pct_female + pct_male - 100) > 1e-9
    or rank_female > n_ranked
    or rank_male > n_ranked
