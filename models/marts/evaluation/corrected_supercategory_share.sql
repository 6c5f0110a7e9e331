-- The face share of each supercategory (supercategory_face_share) corrected for the face
-- model's measured image-level error against each reference (annotator_image_evaluation):
-- share_corrected = clamp(share * image_precision / image_recall, 0, 1), with the
-- supercategory's own precision and recall where the reference has enough images of it
-- (var correction_min_images reference-positive and predicted-positive images), else the
-- rates over all the reference's images. Counts pool the reference's datasets.
with rates as (
    select
        annotator,
        reference,
        group_kind,
        group_value,
        sum(n_images) as n_images_evaluated,
        sum(tp) as tp,
        sum(fp) as fp,
        sum(fn) as fn
    from {{ ref('annotator_image_evaluation') }}
    group by annotator, reference, group_kind, group_value
),

overall as (
    select * from rates
    where group_kind = 'all'
),

own as (
    select * from rates
    where group_kind = 'supercategory'
),

chosen as (
    select
        observed.annotator,
        overall.reference,
        observed.dataset,
        observed.supercategory,
        observed.n_images,
        observed.n_images_with_faces,
        observed.share as share_observed,
        observed.share_lo as share_observed_lo,
        observed.share_hi as share_observed_hi,
        observed.published_share,
        coalesce(own.n_images_evaluated, 0) as n_images_evaluated_supercategory,
        coalesce(
            own.tp + own.fn >= {{ var('correction_min_images') }}
            and own.tp + own.fp >= {{ var('correction_min_images') }},
            false
        ) as has_own_rates,
        overall.n_images_evaluated as n_images_evaluated_all,
        overall.tp as all_tp,
        overall.fp as all_fp,
        overall.fn as all_fn,
        own.tp as own_tp,
        own.fp as own_fp,
        own.fn as own_fn
    from {{ ref('supercategory_face_share') }} as observed
    inner join overall
        on observed.annotator = overall.annotator
    left join own
        on
            overall.annotator = own.annotator
            and overall.reference = own.reference
            and observed.supercategory = own.group_value
),

rated as (
    select
        *,
        case when has_own_rates then 'supercategory' else 'all' end as rates_from,
        case when has_own_rates then n_images_evaluated_supercategory else n_images_evaluated_all end
            as n_images_evaluated,
        case
            when has_own_rates then {{ safe_divide('own_tp', 'own_tp + own_fp') }}
            else {{ safe_divide('all_tp', 'all_tp + all_fp') }}
        end as image_precision,
        case
            when has_own_rates then {{ safe_divide('own_tp', 'own_tp + own_fn') }}
            else {{ safe_divide('all_tp', 'all_tp + all_fn') }}
        end as image_recall
    from chosen
),

corrected as (
    select
        *,
        {{ safe_divide('image_precision', 'image_recall') }} as share_correction
    from rated
)

select
    annotator,
    reference,
    dataset,
    supercategory,
    n_images,
    n_images_with_faces,
    share_observed,
    share_observed_lo,
    share_observed_hi,
    rates_from,
    n_images_evaluated,
    n_images_evaluated_supercategory,
    image_precision,
    image_recall,
    share_correction,
    least(greatest(share_observed * share_correction, 0), 1) as share_corrected,
    least(greatest(share_observed_lo * share_correction, 0), 1) as share_corrected_lo,
    least(greatest(share_observed_hi * share_correction, 0), 1) as share_corrected_hi,
    published_share
from corrected
