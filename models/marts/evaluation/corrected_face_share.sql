-- The face share of each face annotator per dataset, beside its measured error against each
-- reference and corrected for it (DESIGN.md, "Reference labels and measured annotator error").
-- Image-level rates correct an image-level share: of the images the annotator marks with a
-- face, image_precision truly have one; of the images that truly have one, it marks
-- image_recall. So true share ~ observed share * image_precision / image_recall, clamped to
-- [0, 1]. Face counts are corrected the same way with the face-level rates.
with evaluation as (
    select
        annotator,
        reference,
        n_images as n_images_evaluated,
        n_reference,
        n_predicted,
        n_matched,
        precision,
        recall,
        image_precision,
        image_recall
    from {{ ref('annotator_evaluation') }}
    where group_kind = 'all'
),

reference_datasets as (
    select
        annotator as reference,
        string_agg(distinct dataset, ', ' order by dataset) as reference_datasets
    from {{ ref('int_image_results') }}
    where stage = 'faces' and annotator like 'reference/%'
    group by annotator
),

images as (
    select
        annotator,
        dataset,
        count(*) as n_images
    from {{ ref('int_image_results') }}
    where
        stage = 'faces'
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
        evaluation.n_images_evaluated,
        evaluation.n_reference,
        evaluation.n_predicted,
        evaluation.n_matched,
        evaluation.precision,
        evaluation.recall,
        evaluation.image_precision,
        evaluation.image_recall,
        {{ safe_divide('evaluation.image_precision', 'evaluation.image_recall') }} as share_correction,
        {{ safe_divide('evaluation.precision', 'evaluation.recall') }} as face_correction
    from wilson
    inner join evaluation
        on wilson.annotator = evaluation.annotator
    left join reference_datasets
        on evaluation.reference = reference_datasets.reference
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
    n_images_evaluated,
    n_reference,
    n_predicted,
    n_matched,
    precision,
    recall,
    image_precision,
    image_recall,
    share_correction,
    least(greatest(eta_observed * share_correction, 0), 1) as eta_corrected,
    least(greatest(eta_observed_lo * share_correction, 0), 1) as eta_corrected_lo,
    least(greatest(eta_observed_hi * share_correction, 0), 1) as eta_corrected_hi,
    n_faces * face_correction as n_faces_corrected
from joined
