-- Table 5 of the 2020 paper: the classes of the Affinity Propagation cluster with the highest
-- mean NSFW score (train), with their apparent mean gender and age.
select
    clusters.nsfw_annotator,
    clusters.face_annotator,
    clusters.dataset,
    classes.class_index,
    clusters.wnid,
    classes.label,
    round(clusters.mean_gender, 2) as mean_gender_audit,
    round(clusters.mean_age, 2) as mean_age_audit,
    round(clusters.mean_nsfw, 3) as mean_nsfw_train
from {{ ref('nsfw_clusters') }} as clusters
left join {{ ref('imagenet_classes') }} as classes
    on clusters.wnid = classes.wnid
where clusters.is_review_shortlist
order by clusters.nsfw_annotator asc, clusters.face_annotator asc, clusters.dataset asc, clusters.mean_nsfw desc
