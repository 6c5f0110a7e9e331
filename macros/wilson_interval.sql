{#- One bound of the Wilson score interval of a binomial share k / n (DESIGN.md,
    "Uncertainty"): bound 'lo' or 'hi', z = 1.959964 for 95 %. With p = k / n:
        (p + z^2 / (2n) -+ z * sqrt(p (1 - p) / n + z^2 / (4 n^2))) / (1 + z^2 / n),
    written as (k + z^2/2 -+ z * sqrt(k (n - k) / n + z^2 / 4)) / (n + z^2), the same number.
    Exact at the edges, where the formula gives 0 or 1 up to rounding: lo = 0 for k = 0 and
    hi = 1 for k = n (one image of one: [1 / (1 + z^2), 1] = [0.2066, 1]); NULL where n is 0 or
    NULL. Double precision. The one Wilson interval of the project: every mart uses this. -#}
{% macro wilson_interval(successes, trials, bound, z=1.959964) -%}
    {%- if bound not in ['lo', 'hi'] -%}
        {{ exceptions.raise_compiler_error("wilson_interval: bound must be 'lo' or 'hi', got " ~ bound) }}
    {%- endif -%}
    {%- set k = 'cast(' ~ successes ~ ' as double)' -%}
    {%- set n = 'cast(' ~ trials ~ ' as double)' -%}
    (case
        when {{ n }} is null or {{ n }} <= 0 or {{ k }} is null then null
    {%- if bound == 'lo' %}
        when {{ k }} <= 0 then 0.0
        else greatest(
            0.0,
            ({{ k }} + {{ z }} * {{ z }} / 2
                - {{ z }} * sqrt({{ k }} * ({{ n }} - {{ k }}) / {{ n }} + {{ z }} * {{ z }} / 4))
            / ({{ n }} + {{ z }} * {{ z }})
        )
    {%- else %}
        when {{ k }} >= {{ n }} then 1.0
        else least(
            1.0,
            ({{ k }} + {{ z }} * {{ z }} / 2
                + {{ z }} * sqrt({{ k }} * ({{ n }} - {{ k }}) / {{ n }} + {{ z }} * {{ z }} / 4))
            / ({{ n }} + {{ z }} * {{ z }})
        )
    {%- endif %}
    end)
{%- endmacro %}
