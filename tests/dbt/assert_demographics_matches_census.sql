-- demographics.n_faces / n_women / n_men equal the census_overview totals over datasets and
-- splits, and every face annotator of census_overview has its demographics row (0 faces
-- included).
with totals as (
    select
        annotator,
        sum(n_faces) as n_faces,
        sum(n_women) as n_women,
        sum(n_men) as n_men
    from {{ ref('census_overview') }}
    group by annotator
)

select
    totals.annotator,
    totals.n_faces,
    demographics.n_faces as demographics_n_faces
from totals
left join {{ ref('demographics') }} as demographics
    on totals.annotator = demographics.annotator
where
    demographics.annotator is null
    or totals.n_faces != demographics.n_faces
    or totals.n_women != demographics.n_women
    or totals.n_men != demographics.n_men
