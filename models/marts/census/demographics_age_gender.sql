-- Age bucket x gender of the kept faces per face annotator and dataset (2019 paper, Table 2),
-- every bucket and gender listed (zero counts included) for the (annotator, dataset) pairs with
-- classifiable faces. Datasets are never pooled.
with classified as (
    select
        annotator,
        dataset,
        gender,
        age_bucket
    from {{ ref('int_census_faces') }}
    where age is not null and gender is not null
),

annotators as (
    select
        annotator,
        dataset,
        count(*) as n_classified
    from classified
    group by annotator, dataset
),

buckets as (
    select unnest({{ age_bucket_labels() }}) as age_bucket
),

genders as (
    select unnest(['female', 'male']) as gender
),

counts as (
    select
        annotator,
        dataset,
        age_bucket,
        gender,
        count(*) as n_faces
    from classified
    group by annotator, dataset, age_bucket, gender
)

select
    annotators.annotator,
    annotators.dataset,
    buckets.age_bucket,
    genders.gender,
    coalesce(counts.n_faces, 0) as n_faces,
    100 * coalesce(counts.n_faces, 0) / annotators.n_classified as pct_of_faces
from annotators
cross join buckets
cross join genders
left join counts
    on
        annotators.annotator = counts.annotator
        and annotators.dataset = counts.dataset
        and buckets.age_bucket = counts.age_bucket
        and genders.gender = counts.gender
