-- The face share of each face annotator per dataset, beside its measured error against each
-- reference and corrected for it (DESIGN.md, "Reference labels and measured annotator error",
-- "Image-level reference labels"). Image-level rates correct an image-level share: of the
-- images the annotator marks with a face, image_precision truly have one; of the images that
-- truly have one, it marks image_recall. So true share ~ observed share * image_precision /
-- image_recall, clamped to [0, 1]. The rates come from annotator_image_evaluation (image-level
-- and face-box references alike, pooled over the reference's datasets); face counts are
-- corrected with the face-level rates of annotator_evaluation (face-box references only).
-- eta_corrected_by_supercategory corrects each supercategory with its own rates where the
-- reference has enough of its images (corrected_supercategory_share) and adds them up.
with image_evaluation as (
    select
        annotator,
        reference,
        string_agg(distinct reference_kind, ', ' order by reference_kind) as reference_kind,
        sum(n_images) as n_images_evaluated,
        sum(n_excluded) as n_images_excluded,
        sum(tp) as tp,
        sum(fp) as fp,
        sum(fn) as fn
    from {{ ref('annotator_image_evaluation') }}
    where group_kind = 'all'
    group by annotator, reference
),

face_evaluation as (
    select
        annotator,
        reference,
        n_reference,
        n_predicted,
        n_matched,
        precision,
        recall
    from {{ ref('annotator_evaluation') }}
    where group_kind = 'all'
),

evaluation as (
    select
        image_evaluation.annotator,
        image_evaluation.reference,
        image_evaluation.reference_kind,
        image_evaluation.n_images_evaluated,
        image_evaluation.n_images_excluded,
        face_evaluation.n_reference,
        face_evaluation.n_predicted,
        face_evaluation.n_matched,
        face_evaluation.precision,
        face_evaluation.recall,
        {{ safe_divide('image_evaluation.tp', 'image_evaluation.tp + image_evaluation.fp') }} as image_precision,
        {{ wilson_interval('image_evaluation.tp', 'image_evaluation.tp + image_evaluation.fp', 'lo') }}
            as image_precision_lo,
        {{ wilson_interval('image_evaluation.tp', 'image_evaluation.tp + image_evaluation.fp', 'hi') }}
            as image_precision_hi,
        {{ safe_divide('image_evaluation.tp', 'image_evaluation.tp + image_evaluation.fn') }} as image_recall,
        {{ wilson_interval('image_evaluation.tp', 'image_evaluation.tp + image_evaluation.fn', 'lo') }}
            as image_recall_lo,
        {{ wilson_interval('image_evaluation.tp', 'image_evaluation.tp + image_evaluation.fn', 'hi') }}
            as image_recall_hi
    from image_evaluation
    left join face_evaluation
        on
            image_evaluation.annotator = face_evaluation.annotator
            and image_evaluation.reference = face_evaluation.reference
),

by_supercategory as (
    select
        annotator,
        reference,
        dataset,
        sum(n_images) as n_images_grouped,
        -- NULL as soon as one group has no correction
        sum(n_images * share_corrected) / sum(n_images) as eta_corrected_by_supercategory
    from {{ ref('corrected_supercategory_share') }}
    group by annotator, reference, dataset
),

reference_datasets as (
    select
        annotator as reference,
        string_agg(distinct dataset, ', ' order by dataset) as reference_datasets
    from {{ ref('int_image_results') }}
    where stage in ({{ stage('faces') }}, {{ stage('image_faces') }}) and {{ is_reference('annotator') }}
    group by annotator
),

images as (
    select
        annotator,
        dataset,
        count(*) as n_images
    from {{ ref('int_image_results') }}
    where
        stage = {{ stage('faces') }}
        and annotator in (select evaluation.annotator from evaluation)  -- only models with a reference
    group by annotator, dataset
),

faces as (
    select
        annotator,
        dataset,
        count(distinct image_id) as n_images_with_faces,
        count(*) as n_faces
    from {{ ref('int_kept_faces') }}
    where annotator in (select evaluation.annotator from evaluation)
    group by annotator, dataset
),

observed as (
    select
        images.annotator,
        images.dataset,
        images.n_images,
        coalesce(faces.n_images_with_faces, 0) as n_images_with_faces,
        coalesce(faces.n_faces, 0) as n_faces,
        coalesce(faces.n_images_with_faces, 0) / images.n_images as eta_observed
    from images
    left join faces
        on images.annotator = faces.annotator and images.dataset = faces.dataset
),

-- 95 % Wilson score interval of the observed share (macros/wilson_interval.sql, z = 1.959964)
wilson as (
    select
        *,
        {{ wilson_interval('n_images_with_faces', 'n_images', 'lo') }} as eta_observed_lo,
        {{ wilson_interval('n_images_with_faces', 'n_images', 'hi') }} as eta_observed_hi
    from observed
),

joined as (
    select
        wilson.annotator,
        evaluation.reference,
        wilson.dataset,
        wilson.n_images,
        wilson.n_images_with_faces,
        wilson.n_faces,
        wilson.eta_observed,
        wilson.eta_observed_lo,
        wilson.eta_observed_hi,
        reference_datasets.reference_datasets,
        evaluation.reference_kind,
        evaluation.n_images_evaluated,
        evaluation.n_images_excluded,
        evaluation.n_reference,
        evaluation.n_predicted,
        evaluation.n_matched,
        evaluation.precision,
        evaluation.recall,
        evaluation.image_precision,
        evaluation.image_precision_lo,
        evaluation.image_precision_hi,
        evaluation.image_recall,
        evaluation.image_recall_lo,
        evaluation.image_recall_hi,
        {{ safe_divide('evaluation.image_precision', 'evaluation.image_recall') }} as share_correction,
        {{ safe_divide('evaluation.precision', 'evaluation.recall') }} as face_correction,
        -- only where every image of the dataset is in a supercategory (an ImageNet class)
        case
            when by_supercategory.n_images_grouped = wilson.n_images
                then by_supercategory.eta_corrected_by_supercategory
        end as eta_corrected_by_supercategory
    from wilson
    inner join evaluation
        on wilson.annotator = evaluation.annotator
    left join reference_datasets
        on evaluation.reference = reference_datasets.reference
    left join by_supercategory
        on
            wilson.annotator = by_supercategory.annotator
            and evaluation.reference = by_supercategory.reference
            and wilson.dataset = by_supercategory.dataset
)

select
    annotator,
    reference,
    dataset,
    n_images,
    n_images_with_faces,
    n_faces,
    eta_observed,
    eta_observed_lo,
    eta_observed_hi,
    reference_datasets,
    reference_kind,
    n_images_evaluated,
    n_images_excluded,
    n_reference,
    n_predicted,
    n_matched,
    precision,
    recall,
    image_precision,
    image_precision_lo,
    image_precision_hi,
    image_recall,
    image_recall_lo,
    image_recall_hi,
    share_correction,
    least(greatest(eta_observed * share_correction, 0), 1) as eta_corrected,
    least(greatest(eta_observed_lo * share_correction, 0), 1) as eta_corrected_lo,
    least(greatest(eta_observed_hi * share_correction, 0), 1) as eta_corrected_hi,
    eta_corrected_by_supercategory,
    n_faces * face_correction as n_faces_corrected
from joined
