{#- A stage's name as a SQL literal. The stages are the dbt var stages (the registry of
    ingest/core/stages.py, kept equal by a test): a misspelt or unknown stage fails the compile
    instead of matching no row. -#}
{% macro stage(name) -%}
    {#- exceptions is dbt's: sqlfluff's templater has neither it nor the var -#}
    {%- if exceptions is defined and name not in var('stages') -%}
        {{ exceptions.raise_compiler_error(
            "Unknown stage '" ~ name ~ "': the stages are " ~ var('stages') | join(', ')
            ~ " (var stages in dbt_project.yml, from ingest/core/stages.py)."
        ) }}
    {%- endif -%}
    '{{ name }}'
{%- endmacro %}
