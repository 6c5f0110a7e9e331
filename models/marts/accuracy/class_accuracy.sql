-- Class-wise top-1 / top-5 accuracy per classifier, class and split over the images whose
-- classifier result is ok; an ok image without predictions counts as a miss. The label of
-- an image is raw.images.wnid.
with classify_results as (
    select
        annotator,
        image_id,
        run_id,
        wnid,
        split
    from {{ ref('int_image_results') }}
    where stage = 'classify'
),

label_hits as (
    select
        classify_results.annotator,
        classify_results.image_id,
        min(predictions.rank) as label_rank
    from classify_results
    inner join {{ ref('stg_predictions') }} as predictions
        on
            classify_results.run_id = predictions.run_id
            and classify_results.image_id = predictions.image_id
            and classify_results.wnid = predictions.wnid
    where predictions.rank between 1 and 5
    group by classify_results.annotator, classify_results.image_id
)

select
    classify_results.annotator,
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
group by classify_results.annotator, classify_results.wnid, classify_results.split
