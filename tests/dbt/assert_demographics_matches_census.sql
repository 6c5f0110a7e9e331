-- demographics.n_faces / n_women / n_men equal the census_overview totals over the splits of
-- each (annotator, dataset), and every (face annotator, dataset) of census_overview has its
-- demographics row (0 faces included).
with totals as (
    select
        annotator,
        dataset,
        sum(n_faces) as n_faces,
        sum(n_women) as n_women,
        sum(n_men) as n_men
    from {{ ref('census_overview') }}
    group by annotator, dataset
)

select
    totals.annotator,
    totals.dataset,
    totals.n_faces,
    demographics.n_faces as demographics_n_faces
from totals
left join {{ ref('demographics') }} as demographics
    on totals.annotator = demographics.annotator and totals.dataset = demographics.dataset
where
    demographics.annotator is null
    or totals.n_faces != demographics.n_faces
    or totals.n_women != demographics.n_women
    or totals.n_men != demographics.n_men
