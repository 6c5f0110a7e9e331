{#- dbt_utils.safe_divide (same name and arguments): numerator / denominator, NULL where
    the denominator is 0 or NULL. DuckDB's / on integers is a floating-point division. -#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
