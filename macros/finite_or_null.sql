{#- A DOUBLE column with its non-finite values (NaN, inf, -inf) turned into NULL. The raw
    schema's CHECK constraints refuse them, but a warehouse created before those constraints
    existed (`create table if not exists` never adds one) may hold some: a NaN age would land
    in the `60+` bucket (DuckDB orders NaN above every number) and make every mean NaN. -#}
{% macro finite_or_null(column) -%}
    case when isfinite(cast({{ column }} as double)) then cast({{ column }} as double) end
{%- endmacro %}
