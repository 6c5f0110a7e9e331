-- Image-level precision and recall of "this image shows a real human face" (DESIGN.md,
-- "Image-level reference labels"): every face model against every reference on the images
-- both have ok, overall and per supercategory of the image's class. A face model says yes
-- where it keeps at least one face (int_kept_faces: what the census counts); the reference's
-- yes and no decide, its depiction and unsure labels are counted apart and left out.
with truth as (
    select * from {{ ref('int_reference_image_labels') }}
),

kept as (
    select distinct
        annotator,
        image_id
    from {{ ref('int_kept_faces') }}
),

predictions as (
    select
        results.annotator,
        results.image_id,
        kept.image_id is not null as predicted
    from {{ ref('int_image_results') }} as results
    left join kept
        on results.annotator = kept.annotator and results.image_id = kept.image_id
    where
        results.stage = {{ stage('faces') }}
        and not {{ is_reference('results.annotator') }}
),

pairs as (
    select
        predictions.annotator,
        truth.reference,
        truth.reference_kind,
        truth.dataset,
        truth.label,
        predictions.predicted,
        supercategories.supercategory
    from truth
    inner join predictions
        on truth.image_id = predictions.image_id
    left join {{ ref('imagenet_supercategories') }} as supercategories
        on truth.wnid = supercategories.wnid
),

grouped as (
    select
        annotator,
        reference,
        reference_kind,
        dataset,
        label,
        predicted,
        'all' as group_kind,
        'all' as group_value
    from pairs
    union all
    select
        annotator,
        reference,
        reference_kind,
        dataset,
        label,
        predicted,
        'supercategory' as group_kind,
        supercategory as group_value
    from pairs
    where supercategory is not null
),

counts as (
    select
        annotator,
        reference,
        dataset,
        group_kind,
        group_value,
        string_agg(distinct reference_kind, ', ' order by reference_kind) as reference_kind,
        count(*) filter (where label in ('yes', 'no')) as n_images,
        count(*) filter (where label in ('depiction', 'unsure')) as n_excluded,
        count(*) filter (where label = 'depiction') as n_depiction,
        count(*) filter (where label = 'depiction' and predicted) as n_depiction_predicted,
        count(*) filter (where label = 'yes') as n_positive_reference,
        count(*) filter (where label in ('yes', 'no') and predicted) as n_predicted_positive,
        count(*) filter (where label = 'yes' and predicted) as tp,
        count(*) filter (where label = 'no' and predicted) as fp,
        count(*) filter (where label = 'yes' and not predicted) as fn,
        count(*) filter (where label = 'no' and not predicted) as tn
    from grouped
    group by annotator, reference, dataset, group_kind, group_value
)

select
    annotator,
    reference,
    dataset,
    group_kind,
    group_value,
    reference_kind,
    n_images,
    n_excluded,
    n_depiction,
    n_depiction_predicted,
    n_positive_reference,
    n_predicted_positive,
    tp,
    fp,
    fn,
    tn,
    {{ safe_divide('tp', 'tp + fp') }} as precision,
    -- 95 % Wilson score intervals (macros/wilson_interval.sql, z = 1.959964)
    {{ wilson_interval('tp', 'tp + fp', 'lo') }} as precision_lo,
    {{ wilson_interval('tp', 'tp + fp', 'hi') }} as precision_hi,
    {{ safe_divide('tp', 'tp + fn') }} as recall,
    {{ wilson_interval('tp', 'tp + fn', 'lo') }} as recall_lo,
    {{ wilson_interval('tp', 'tp + fn', 'hi') }} as recall_hi,
    {{ safe_divide('fp', 'fp + tn') }} as false_positive_rate,
    {{ safe_divide('n_positive_reference', 'n_images') }} as reference_share,
    {{ wilson_interval('n_positive_reference', 'n_images', 'lo') }} as reference_share_lo,
    {{ wilson_interval('n_positive_reference', 'n_images', 'hi') }} as reference_share_hi,
    {{ safe_divide('n_predicted_positive', 'n_images') }} as predicted_share
from counts
