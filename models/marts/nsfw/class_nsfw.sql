-- Class-wise NSFW score (Appendix B.2 of the 2020 paper) per NSFW model, class and split.
select
    results.annotator,
    results.wnid,
    results.split,
    count(*) as n_images,
    count(nsfw.nsfw_score) as n_scored,
    avg(nsfw.nsfw_score) as mean_nsfw,
    stddev_samp(nsfw.nsfw_score) as std_nsfw
from {{ ref('int_image_results') }} as results
left join {{ ref('stg_nsfw') }} as nsfw
    on results.run_id = nsfw.run_id and results.image_id = nsfw.image_id
where results.stage = 'nsfw'
group by results.annotator, results.wnid, results.split
