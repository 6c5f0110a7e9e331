{#- dbt_utils.unique_combination_of_columns, same name and arguments (dbt_utils cannot be
    installed offline): the combinations of the listed columns found in more than one row.
    The rows are grouped by one 64-bit hash of the combination first (several times faster on
    millions of rows than grouping by the columns); only combinations whose hash repeats are
    then compared by their values, so a hash collision never fails the test. No row is read
    where the warehouse enforces the key (macros/tests/enforced_constraint.sql). -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    {%- if warehouse_enforces(model, 'unique', combination_of_columns) -%}
        {{ enforced_by_warehouse(combination_of_columns + ['n_rows']) }}
    {%- else -%}
    with repeated_hashes as (
        select hash({{ column_list(combination_of_columns, quote_columns) }}) as combination_hash
        from {{ model }}
        group by combination_hash
        having count(*) > 1
    )

    select
        {{ column_list(combination_of_columns, quote_columns) }},
        count(*) as n_rows
    from {{ model }}
    where hash({{ column_list(combination_of_columns, quote_columns) }}) in (select combination_hash from repeated_hashes)
    group by all
    having count(*) > 1
    {%- endif -%}
{% endtest %}
