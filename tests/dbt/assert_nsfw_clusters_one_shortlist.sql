-- Each (NSFW model, face annotator, dataset) that converged has exactly one shortlisted
-- cluster, and it has the highest cluster mean NSFW.
with pairs as (
    select
        nsfw_annotator,
        face_annotator,
        dataset,
        count(distinct cluster_id) filter (where is_review_shortlist) as n_shortlisted,
        max(cluster_mean_nsfw) as top_cluster_mean,
        max(cluster_mean_nsfw) filter (where is_review_shortlist) as shortlist_mean,
        min(cluster_id) as min_cluster_id
    from {{ ref('nsfw_clusters') }}
    group by nsfw_annotator, face_annotator, dataset
)

select *
from pairs
where
    min_cluster_id >= 0
    and (n_shortlisted != 1 or shortlist_mean != top_cluster_mean)
