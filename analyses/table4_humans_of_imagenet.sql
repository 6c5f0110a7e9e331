-- Table 4 of the 2020 paper ("Humans of the imagenet dataset: How many?"):
-- n = images with persons, N = persons, W/M = apparent women/men, per face annotator, dataset
-- and split.
-- Apparent gender from a biased model.
select
    annotator,
    dataset,
    split,
    n_images,
    n_images_with_faces as n_images_with_persons,
    n_faces as n_persons,
    n_women,
    n_men,
    round(100 * share_images_with_faces, 2) as pct_images_with_persons,
    round(mean_age_women, 2) as mean_age_women,
    round(mean_age_men, 2) as mean_age_men
from {{ ref('census_overview') }}
order by annotator, dataset, split
