{#- dbt_utils.accepted_range, same name and arguments (dbt_utils cannot be installed
    offline): rows whose value lies outside [min_value, max_value] (either bound optional,
    both exclusive with inclusive=false). NULLs pass. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    {%- set outside = ['false'] -%}
    {%- if min_value is not none -%}
        {%- do outside.append('not ' ~ column_name ~ (' >= ' if inclusive else ' > ') ~ min_value) -%}
    {%- endif -%}
    {%- if max_value is not none -%}
        {%- do outside.append('not ' ~ column_name ~ (' <= ' if inclusive else ' < ') ~ max_value) -%}
    {%- endif %}
    select {{ column_name }} as bad_value
    from {{ model }}
    where {{ outside | join(' or ') }}
{% endtest %}
