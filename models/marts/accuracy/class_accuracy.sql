-- Class-wise top-1 / top-5 accuracy per classifier, dataset, class and split over the images
-- whose classifier result is ok; an ok image without predictions counts as a miss. The label
-- of an image is raw.images.wnid; int_image_outcomes holds the rank at which the winning run
-- predicted it (a prediction that names only its class_index is looked up in imagenet_classes).
select
    annotator,
    dataset,
    wnid,
    split,
    count(*) as n_images,
    count(*) filter (where label_rank = 1) / count(*) as top1,
    count(*) filter (where label_rank <= 5) / count(*) as top5
from {{ ref('int_image_outcomes') }}
where stage = {{ stage('classify') }} and run_id is not null and not {{ is_reference('annotator') }}
group by annotator, dataset, wnid, split
