{% test value_between(model, column_name, low, high) %}
    select {{ column_name }} as bad_value
    from {{ model }}
    where {{ column_name }} < {{ low }} or {{ column_name }} > {{ high }}
{% endtest %}
