{#- Images each face annotator processed ok (the denominator of eta and of every per-class
    share), summed to the grain given: the class grain (annotator, dataset, wnid, split) by
    default, or a coarser one such as (annotator, dataset, split). Use as the body of a CTE. -#}
{% macro class_images(grain=['annotator', 'dataset', 'wnid', 'split']) -%}
    select
        {{ grain | join(',\n        ') }},
        cast(sum(n_images) as bigint) as n_images
    from {{ ref('int_class_images') }}
    group by {{ grain | join(', ') }}
{%- endmacro %}
