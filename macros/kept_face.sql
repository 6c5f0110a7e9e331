{#- Whether the census keeps a face: a verifying annotator's decision where it made one
    (stg_faces.verified), else det_score >= var face_min_score. -#}
{% macro kept_face(det_score, verified) -%}
    coalesce({{ verified }}, {{ det_score }} >= {{ var('face_min_score') }}, false)
{%- endmacro %}

{#- Whether a verifying annotator's decision differs from the bare threshold: a face kept below
    var face_min_score or dropped at or above it (what reviewers should check first). -#}
{% macro verifier_overruled(det_score, verified) -%}
    coalesce({{ verified }} <> ({{ det_score }} >= {{ var('face_min_score') }}), false)
{%- endmacro %}
