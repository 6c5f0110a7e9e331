-- 2019 paper, headline numbers per face annotator and dataset: share of faces that appear
-- female (41.62% there), over 60 (1.71%), and the largest age x gender subgroup (males 15-29,
-- 27.11%). Apparent age/gender from biased models.
-- Which rows: a dataset's train split when it has one (as the paper, on ImageNet's train
-- split), else each of its splits on its own (folder, webdataset and Parquet datasets have the
-- one split `all`); column split names it. Splits are never pooled.
with train_datasets as (
    select distinct dataset
    from {{ ref('int_class_images') }}
    where split = 'train'
),

chosen_faces as (
    select
        faces.annotator,
        faces.dataset,
        faces.split,
        faces.gender,
        faces.age_bucket
    from {{ ref('int_census_faces') }} as faces
    left join train_datasets
        on faces.dataset = train_datasets.dataset
    where
        faces.age is not null
        and faces.gender is not null
        and (faces.split = 'train' or train_datasets.dataset is null)
),

subgroups as (
    select
        annotator,
        dataset,
        split,
        gender,
        age_bucket,
        count(*) as n_faces,
        100 * count(*) / sum(count(*)) over (partition by annotator, dataset, split) as pct_of_faces
    from chosen_faces
    group by annotator, dataset, split, gender, age_bucket
),

largest as (
    select
        annotator,
        dataset,
        split,
        arg_max(gender || ' ' || age_bucket, pct_of_faces) as largest_subgroup,
        max(pct_of_faces) as pct_largest_subgroup
    from subgroups
    group by annotator, dataset, split
),

headline as (
    select
        annotator,
        dataset,
        split,
        count(*) as n_faces,
        100 * count(*) filter (where gender = 'female') / count(*) as pct_female,
        100 * count(*) filter (where age_bucket = '60+') / count(*) as pct_over_60
    from chosen_faces
    group by annotator, dataset, split
)

select
    headline.annotator,
    headline.dataset,
    headline.split,
    headline.n_faces,
    round(headline.pct_female, 2) as pct_female,
    round(headline.pct_over_60, 2) as pct_over_60,
    largest.largest_subgroup,
    round(largest.pct_largest_subgroup, 2) as pct_largest_subgroup
from headline
inner join largest
    on
        headline.annotator = largest.annotator
        and headline.dataset = largest.dataset
        and headline.split = largest.split
order by headline.annotator, headline.dataset, headline.split
