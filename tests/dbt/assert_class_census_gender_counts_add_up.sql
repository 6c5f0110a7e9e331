-- n_women + n_men = n_faces, counting only faces that have a gender score.
with gendered as (
    select
        annotator,
        dataset,
        wnid,
        split,
        count(gender_score) as n_gendered
    from {{ ref('int_census_faces') }}
    group by annotator, dataset, wnid, split
)

select
    census.annotator,
    census.dataset,
    census.wnid,
    census.split,
    census.n_women,
    census.n_men,
    census.n_faces
from {{ ref('class_census') }} as census
left join gendered
    on
        census.annotator = gendered.annotator
        and census.dataset = gendered.dataset
        and census.wnid = gendered.wnid
        and census.split = gendered.split
where
    census.n_women + census.n_men != coalesce(gendered.n_gendered, 0)
    or census.n_women + census.n_men > census.n_faces
