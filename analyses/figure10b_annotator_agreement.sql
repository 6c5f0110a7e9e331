-- Figure 10b of the 2020 paper: Pearson r between two face annotators across classes, for
-- eta (persons per image), gender skewness and mean apparent age (paper, DEX vs InsightFace:
-- 0.973, 0.723, 0.567). The scatter points are the class_census rows of both annotators.
select
    annotator_a,
    annotator_b,
    dataset,
    split,
    n_classes,
    round(pearson_eta, 3) as pearson_eta,
    round(pearson_gender_skewness, 3) as pearson_gender_skewness,
    round(pearson_mean_age, 3) as pearson_mean_age
from {{ ref('annotator_agreement') }}
order by annotator_a, annotator_b, dataset, split
