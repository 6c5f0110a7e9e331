{#- Whether the warehouse itself enforces a rule that a data test would check: a PRIMARY KEY or
    UNIQUE constraint (one column) on exactly these columns ('unique'), or a CHECK constraint whose
    expression is `isfinite(column)` alone or first in a conjunction ('finite'). The raw schema
    (ingest/data/schema.sql) declares both, so DuckDB refuses a duplicate key or a NaN at INSERT
    and no stored row can break them; a table created without them (an older warehouse, an
    external tool's CREATE TABLE) still gets the full test. At ImageNet-21k size the tests this
    skips read 14-142M rows each (BENCHMARKS.md 3g). False outside a run (compile, docs). -#}
{% macro warehouse_enforces(model, rule, columns) %}
    {%- if not execute or model.identifier is not defined or model.identifier is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set names = columns | map('lower') | list -%}
    {%- if rule == 'unique' -%}
        {#- a UNIQUE constraint lets rows repeat a combination that holds a NULL, which the
            combination test counts: only a PRIMARY KEY (NOT NULL too) proves more than one column -#}
        {%- set kinds = "('PRIMARY KEY', 'UNIQUE')" if names | length == 1 else "('PRIMARY KEY')" -%}
        {%- set condition = "constraint_type in " ~ kinds ~ " and list_sort(constraint_column_names) = "
            ~ "list_sort(['" ~ names | join("', '") ~ "'])" -%}
    {%- elif rule == 'finite' -%}
        {%- set condition = "constraint_type = 'CHECK' and (expression = 'isfinite(" ~ names[0] ~ ")' or "
            ~ "starts_with(expression, '(isfinite(" ~ names[0] ~ ") AND '))" -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("warehouse_enforces: unknown rule " ~ rule) }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from duckdb_constraints() where database_name = '" ~ model.database
        ~ "' and schema_name = '" ~ model.schema ~ "' and table_name = '" ~ model.identifier
        ~ "' and " ~ condition
    ) -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}

{#- The test's SQL when the warehouse enforces its rule: no row, and nothing read. -#}
{% macro enforced_by_warehouse(columns) -%}
    {{ "select null as " ~ columns | join(", null as ") ~ " where false" }}
{%- endmacro %}
