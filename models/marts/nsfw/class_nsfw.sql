-- Class-wise NSFW score (Appendix B.2 of the 2020 paper) per NSFW model, dataset, class and
-- split (reference annotators, imported ground truth, are no NSFW model here). Two standard deviations: the sample one (ddof = 1) and the population one
-- (ddof = 0, as the authors' notebooks computed the class NSFW std with numpy). The score of
-- each image's winning run is in int_image_outcomes (NULL: ok without a score).
select
    annotator,
    dataset,
    wnid,
    split,
    count(*) as n_images,
    count(nsfw_score) as n_scored,
    avg(nsfw_score) as mean_nsfw,
    stddev_samp(nsfw_score) as std_nsfw,
    stddev_pop(nsfw_score) as std_nsfw_pop
from {{ ref('int_image_outcomes') }}
where stage = {{ stage('nsfw') }} and run_id is not null and not {{ is_reference('annotator') }}
group by annotator, dataset, wnid, split
