-- 2019 paper, headline numbers over the TRAIN split (as the paper), per face annotator and
-- dataset: share of faces that appear female (41.62% there), over 60 (1.71%), and the
-- largest age x gender subgroup (males 15-29, 27.11%). Apparent age/gender from biased models.
with train_faces as (
    select
        annotator,
        dataset,
        gender,
        age,
        age_bucket
    from {{ ref('int_kept_faces') }}
    where split = 'train' and age is not null and gender is not null
),

subgroups as (
    select
        annotator,
        dataset,
        gender,
        age_bucket,
        count(*) as n_faces,
        100 * count(*) / sum(count(*)) over (partition by annotator, dataset) as pct_of_faces
    from train_faces
    group by annotator, dataset, gender, age_bucket
),

largest as (
    select
        annotator,
        dataset,
        arg_max(gender || ' ' || age_bucket, pct_of_faces) as largest_subgroup,
        max(pct_of_faces) as pct_largest_subgroup
    from subgroups
    group by annotator, dataset
),

headline as (
    select
        annotator,
        dataset,
        count(*) as n_faces_train,
        100 * count(*) filter (where gender = 'female') / count(*) as pct_female,
        100 * count(*) filter (where age_bucket = '60+') / count(*) as pct_over_60
    from train_faces
    group by annotator, dataset
)

select
    headline.annotator,
    headline.dataset,
    headline.n_faces_train,
    round(headline.pct_female, 2) as pct_female,
    round(headline.pct_over_60, 2) as pct_over_60,
    largest.largest_subgroup,
    round(largest.pct_largest_subgroup, 2) as pct_largest_subgroup
from headline
inner join largest
    on headline.annotator = largest.annotator and headline.dataset = largest.dataset
order by headline.annotator, headline.dataset
