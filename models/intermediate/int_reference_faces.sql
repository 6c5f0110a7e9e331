-- Faces of the reference annotators (reference/<name>: imported ground truth) in their
-- winning run of each image, every face whatever its det_score (a reference's is 1), with
-- boxes and the groups annotator_evaluation reports them by.
select
    results.annotator as reference,
    results.run_id,
    results.image_id,
    faces.face_idx,
    results.dataset,
    faces.x1,
    faces.y1,
    faces.x2,
    faces.y2,
    faces.age,
    faces.gender_score,
    {{ apparent_gender('faces.gender_score') }} as gender,
    {{ age_bucket('faces.age') }} as age_bucket
from {{ ref('int_image_results') }} as results
inner join {{ ref('stg_faces') }} as faces
    on results.run_id = faces.run_id and results.image_id = faces.image_id
where
    results.stage = {{ stage('faces') }}
    and results.n_result_rows > 0
    and {{ is_reference('results.annotator') }}
