-- Model flags that reviewers confirmed: items whose consensus (not a tie, at least var
-- review_min_labels labels, majority share above var review_majority_share) is a flag answer:
-- an NSFW category (not not_nsfw), is_face yes, apparent_minor yes. With who and when (the
-- reviewers who gave the answer, first and last time) and the models' evidence: the image's
-- highest NSFW score, the face's det_score and apparent age (the annotator's latest ok run).
with consensus as (
    select * from {{ ref('review_consensus') }}
    where
        not is_tie
        and n_labels >= {{ var('review_min_labels') }}
        and share > {{ var('review_majority_share') }}
        and (
            (question = 'nsfw_category' and answer <> 'not_nsfw')
            or (question in ('is_face', 'apparent_minor') and answer = 'yes')
        )
),

-- the models' evidence of the consensus items only: the highest NSFW score of the image
-- (int_image_outcomes carries each winning run's score), the face of the annotator's winning run
nsfw_scores as (
    select
        image_id,
        max(nsfw_score) as nsfw_score
    from {{ ref('int_image_outcomes') }}
    where
        stage = {{ stage('nsfw') }}
        and run_id is not null
        and n_result_rows > 0
        and image_id in (select consensus.image_id from consensus)
    group by image_id
),

faces as (
    select
        results.annotator,
        results.image_id,
        faces.face_idx,
        faces.det_score,
        faces.age
    from {{ ref('int_image_results') }} as results
    inner join {{ ref('stg_faces') }} as faces
        on results.run_id = faces.run_id and results.image_id = faces.image_id
    where
        results.stage = {{ stage('faces') }}
        and results.image_id in (select consensus.image_id from consensus)
)

select
    consensus.dataset,
    consensus.image_id,
    consensus.rel_path,
    consensus.split,
    consensus.wnid,
    consensus.question,
    consensus.annotator,
    consensus.face_idx,
    consensus.answer as flag,
    consensus.share,
    consensus.n_labels,
    consensus.reviewers,
    consensus.first_reviewed_at,
    consensus.last_reviewed_at,
    nsfw_scores.nsfw_score,
    faces.det_score,
    faces.age
from consensus
left join nsfw_scores
    on consensus.image_id = nsfw_scores.image_id
left join faces
    on
        consensus.annotator = faces.annotator
        and consensus.image_id = faces.image_id
        and consensus.face_idx = faces.face_idx
