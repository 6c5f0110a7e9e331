-- raw.label_synsets, one row per label set and wnid as WordNet 3.0 sees it, cast to the contract's types.
with source as (
    select * from {{ source('raw', 'label_synsets') }}
),

renamed as (
    select
        cast(label_set as varchar) as label_set,
        cast(wnid as varchar) as wnid,
        cast(in_wordnet as boolean) as in_wordnet,
        cast(synset as varchar) as synset,
        cast(lemmas as varchar) as lemmas,
        cast(lexname as varchar) as lexname,
        cast(depth as integer) as depth,
        cast(is_person as boolean) as is_person,
        cast(usage_domains as varchar) as usage_domains,
        cast(ethnic_slur as boolean) as ethnic_slur,
        cast(obscenity as boolean) as obscenity,
        cast(disparagement as boolean) as disparagement,
        cast(vulgarism as boolean) as vulgarism,
        cast(slang as boolean) as slang,
        cast(colloquialism as boolean) as colloquialism
    from source
)

select * from renamed
