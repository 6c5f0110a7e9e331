-- Semanticity of the class labels (2020 paper, B.2.1 / Figure 11): each ILSVRC class at its
-- 2-D UMAP position of the label's sentence embedding (seed imagenet_label_umap), beside what
-- each face annotator (eta, gender skewness, mean gender, mean age) and each NSFW model (mean
-- NSFW) measured on it, per dataset and split. Every seed class is listed for every
-- (annotator, dataset, split) that processed at least one of them: NULL where not processed.
with face_metrics as (
    select
        annotator,
        {{ stage('faces') }} as stage,
        dataset,
        split,
        wnid,
        n_images,
        eta,
        gender_skewness,
        mean_gender,
        mean_age,
        cast(null as double) as mean_nsfw
    from {{ ref('class_census') }}
),

nsfw_metrics as (
    select
        annotator,
        {{ stage('nsfw') }} as stage,
        dataset,
        split,
        wnid,
        n_images,
        cast(null as double) as eta,
        cast(null as double) as gender_skewness,
        cast(null as double) as mean_gender,
        cast(null as double) as mean_age,
        mean_nsfw
    from {{ ref('class_nsfw') }}
),

metrics as (
    select * from face_metrics
    union all
    select * from nsfw_metrics
),

labels as (
    select
        class_index,
        wnid,
        label,
        umap_x,
        umap_y
    from {{ ref('imagenet_label_umap') }}
),

measured as (
    select distinct
        metrics.annotator,
        metrics.stage,
        metrics.dataset,
        metrics.split
    from metrics
    inner join labels
        on metrics.wnid = labels.wnid
)

select
    measured.annotator,
    measured.stage,
    measured.dataset,
    measured.split,
    labels.wnid,
    labels.class_index,
    labels.label,
    labels.umap_x,
    labels.umap_y,
    metrics.n_images,
    metrics.eta,
    metrics.gender_skewness,
    metrics.mean_gender,
    metrics.mean_age,
    metrics.mean_nsfw
from measured
cross join labels
left join metrics
    on
        measured.annotator = metrics.annotator
        and measured.stage = metrics.stage
        and measured.dataset = metrics.dataset
        and measured.split = metrics.split
        and labels.wnid = metrics.wnid
