-- Class-wise top-1 / top-5 accuracy per classifier, dataset, class and split over the images
-- whose classifier result is ok; an ok image without predictions counts as a miss. The label
-- of an image is raw.images.wnid. A prediction row that names only its class_index (the
-- contract lets an external writer leave wnid NULL) is looked up in imagenet_classes.
with classify_results as (
    select
        annotator,
        dataset,
        image_id,
        run_id,
        wnid,
        split
    from {{ ref('int_image_results') }}
    where stage = 'classify' and not {{ is_reference('annotator') }}
),

predicted as (
    select
        predictions.run_id,
        predictions.image_id,
        predictions.rank,
        coalesce(predictions.wnid, classes.wnid) as wnid
    from {{ ref('stg_predictions') }} as predictions
    left join {{ ref('imagenet_classes') }} as classes
        on predictions.class_index = classes.class_index
    where predictions.rank between 1 and 5
),

label_hits as (
    select
        classify_results.annotator,
        classify_results.image_id,
        min(predicted.rank) as label_rank
    from classify_results
    inner join predicted
        on
            classify_results.run_id = predicted.run_id
            and classify_results.image_id = predicted.image_id
            and classify_results.wnid = predicted.wnid
    group by classify_results.annotator, classify_results.image_id
)

select
    classify_results.annotator,
    classify_results.dataset,
    classify_results.wnid,
    classify_results.split,
    count(*) as n_images,
    count(*) filter (where label_hits.label_rank = 1) / count(*) as top1,
    count(*) filter (where label_hits.label_rank <= 5) / count(*) as top5
from classify_results
left join label_hits
    on
        classify_results.annotator = label_hits.annotator
        and classify_results.image_id = label_hits.image_id
group by classify_results.annotator, classify_results.dataset, classify_results.wnid, classify_results.split
