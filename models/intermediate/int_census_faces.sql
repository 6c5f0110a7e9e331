-- The kept faces the census counts: int_kept_faces of the face models, without the reference
-- annotators (imported ground truth feeds the evaluation marts only; macros/reference_annotators.sql).
{{ config(materialized='view') }}

select *
from {{ ref('int_kept_faces') }}
where not {{ is_reference('annotator') }}
