-- Figure 10b of the 2020 paper: agreement of two face annotators across the classes both
-- processed (same dataset, wnid and split). Pearson r per metric over the classes where
-- both values are non-null; NULL with fewer than two such classes or a constant metric.
with pairs as (
    select
        census_a.annotator as annotator_a,
        census_b.annotator as annotator_b,
        census_a.dataset,
        census_a.split,
        census_a.wnid,
        census_a.eta as eta_a,
        census_b.eta as eta_b,
        census_a.gender_skewness as gender_skewness_a,
        census_b.gender_skewness as gender_skewness_b,
        census_a.mean_age as mean_age_a,
        census_b.mean_age as mean_age_b
    from {{ ref('class_census') }} as census_a
    inner join {{ ref('class_census') }} as census_b
        on
            census_a.dataset = census_b.dataset
            and census_a.wnid = census_b.wnid
            and census_a.split = census_b.split
            and census_a.annotator < census_b.annotator
),

correlations as (
    select
        annotator_a,
        annotator_b,
        dataset,
        split,
        count(*) as n_classes,
        corr(eta_a, eta_b) as r_eta,
        count(*) filter (where gender_skewness_a is not null and gender_skewness_b is not null)
            as n_classes_gender_skewness,
        corr(gender_skewness_a, gender_skewness_b) as r_gender_skewness,
        count(*) filter (where mean_age_a is not null and mean_age_b is not null) as n_classes_mean_age,
        corr(mean_age_a, mean_age_b) as r_mean_age
    from pairs
    group by annotator_a, annotator_b, dataset, split
)

select
    annotator_a,
    annotator_b,
    dataset,
    split,
    n_classes,
    {{ pearson_r('r_eta', 'n_classes') }} as pearson_eta,
    n_classes_gender_skewness,
    {{ pearson_r('r_gender_skewness', 'n_classes_gender_skewness') }} as pearson_gender_skewness,
    n_classes_mean_age,
    {{ pearson_r('r_mean_age', 'n_classes_mean_age') }} as pearson_mean_age
from correlations
