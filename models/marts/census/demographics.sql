-- Headline shares of the 2019 paper per face annotator, over all splits it processed
-- (analyses/dulhanty2019_headline_shares.sql gives the train-only figures of the paper).
select
    annotator,
    count(*) as n_faces,
    count(*) filter (where gender = 'female') as n_women,
    count(*) filter (where gender = 'male') as n_men,
    {{ safe_divide("100 * count(*) filter (where gender = 'female')", 'count(gender)') }} as pct_female,
    {{ safe_divide("100 * count(*) filter (where age_bucket = '60+')", 'count(age)') }} as pct_over_60,
    avg(age) as mean_age
from {{ ref('int_kept_faces') }}
group by annotator
