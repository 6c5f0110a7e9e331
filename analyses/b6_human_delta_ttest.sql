-- Appendix B.6 of the 2020 paper: top-5 val accuracy of the top-k human-delta classes
-- (persons in train / persons in val) against the general population (every other class
-- with a val top-5 accuracy), Welch's t-test (paper: t in (-3.87, -3.06) for ResNet50 and
-- NASNet, top 25), per dataset. Then the top-k classes themselves.
select
    ttest.classifier_annotator,
    ttest.face_annotator,
    ttest.dataset,
    ttest.top_k,
    ttest.n_top,
    ttest.n_rest,
    round(ttest.mean_top, 4) as mean_top5_top_k,
    round(ttest.mean_rest, 4) as mean_top5_rest,
    round(ttest.t_statistic, 3) as t_statistic,
    round(ttest.dof, 1) as dof,
    ttest.p_value,
    ttest.top_wnids
from {{ ref('human_delta_ttest') }} as ttest
order by ttest.classifier_annotator, ttest.face_annotator, ttest.dataset

-- The per-class human deltas:
--   select * from {{ ref('class_human_delta') }} where is_top_k order by annotator, dataset, rank_human_delta
