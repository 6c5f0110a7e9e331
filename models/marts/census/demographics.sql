-- Headline shares of the 2019 paper per face annotator and dataset, over every split of the
-- dataset it processed (analyses/dulhanty2019_headline_shares.sql gives the train-only figures
-- of the paper). Two datasets are never pooled: a warehouse holding the demo and a user's
-- photos gives each its own row. Every (annotator, dataset) with an ok face result has its row,
-- with 0 faces if none was kept; reference annotators (ground truth) have none. The shares'
-- 95 % intervals are percentile bootstraps over images, or Wilson's interval over the same
-- images where the bootstrap has no spread (int_demographics_bootstrap; *_interval says which).
with face_annotators as (
    select distinct
        annotator,
        dataset
    from {{ ref('int_class_images') }}
),

shares as (
    select
        annotator,
        dataset,
        count(*) as n_faces,
        count(*) filter (where gender = 'female') as n_women,
        count(*) filter (where gender = 'male') as n_men,
        {{ safe_divide("100 * count(*) filter (where gender = 'female')", 'count(gender)') }} as pct_female,
        {{ safe_divide("100 * count(*) filter (where age_bucket = '60+')", 'count(age)') }} as pct_over_60,
        avg(age) as mean_age
    from {{ ref('int_census_faces') }}
    group by annotator, dataset
)

select
    face_annotators.annotator,
    face_annotators.dataset,
    coalesce(shares.n_faces, 0) as n_faces,
    coalesce(shares.n_women, 0) as n_women,
    coalesce(shares.n_men, 0) as n_men,
    shares.pct_female,
    bootstrap.pct_female_lo,
    bootstrap.pct_female_hi,
    bootstrap.pct_female_interval,
    shares.pct_over_60,
    bootstrap.pct_over_60_lo,
    bootstrap.pct_over_60_hi,
    bootstrap.pct_over_60_interval,
    shares.mean_age
from face_annotators
left join shares
    on
        face_annotators.annotator = shares.annotator
        and face_annotators.dataset = shares.dataset
left join {{ ref('int_demographics_bootstrap') }} as bootstrap
    on
        face_annotators.annotator = bootstrap.annotator
        and face_annotators.dataset = bootstrap.dataset
