-- Class-wise NSFW score (Appendix B.2 of the 2020 paper) per NSFW model, dataset, class and
-- split (reference annotators, imported ground truth, are no NSFW model here). Two standard deviations: the sample one (ddof = 1) and the population one
-- (ddof = 0, as the authors' notebooks computed the class NSFW std with numpy).
select
    results.annotator,
    results.dataset,
    results.wnid,
    results.split,
    count(*) as n_images,
    count(nsfw.nsfw_score) as n_scored,
    avg(nsfw.nsfw_score) as mean_nsfw,
    stddev_samp(nsfw.nsfw_score) as std_nsfw,
    stddev_pop(nsfw.nsfw_score) as std_nsfw_pop
from {{ ref('int_image_results') }} as results
left join {{ ref('stg_nsfw') }} as nsfw
    on results.run_id = nsfw.run_id and results.image_id = nsfw.image_id
where results.stage = 'nsfw' and not {{ is_reference('results.annotator') }}
group by results.annotator, results.dataset, results.wnid, results.split
