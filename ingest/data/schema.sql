-- The raw schema: the public contract between ingest (and any external tool) and dbt.
-- Names and meanings are fixed; columns may be added, never renamed or repurposed.
-- Scores, ages and probabilities must be finite: the CHECKs use isfinite() because in DuckDB
-- NaN = NaN is true and NaN sorts above every number (a NaN age would count as `60+`).
-- `create table if not exists` never adds a CHECK to an older table; staging turns any
-- non-finite value such a table holds into NULL.
create schema if not exists raw;

create table if not exists raw.runs (
    run_id varchar primary key,
    stage varchar not null,
    annotator varchar not null,
    model_digest varchar,
    params json,
    dataset varchar not null,
    started_at timestamp default current_timestamp,
    finished_at timestamp,
    status varchar not null check (status in ('running', 'complete', 'failed')),
    device varchar,
    tool_version varchar
);

create table if not exists raw.images (
    image_id varchar primary key,
    dataset varchar not null,
    split varchar not null,
    wnid varchar not null,
    rel_path varchar not null,
    file_bytes bigint,
    sha256 varchar,
    width integer,
    height integer,
    decode_error varchar,
    first_seen_at timestamp default current_timestamp
);

create table if not exists raw.image_runs (
    run_id varchar not null,
    image_id varchar not null,
    status varchar not null check (status in ('ok', 'error')),
    error varchar,
    processed_at timestamp default current_timestamp,
    primary key (run_id, image_id)
);

create table if not exists raw.faces (
    run_id varchar not null,
    image_id varchar not null,
    face_idx integer not null,
    det_score double check (isfinite(det_score) and det_score between 0 and 1),
    x1 double,
    y1 double,
    x2 double,
    y2 double,
    age double check (isfinite(age)),
    gender_score double check (isfinite(gender_score) and gender_score between 0 and 1),
    det_raw_score double,
    -- a verifying annotator's decision on this detection (NULL: the annotator verifies nothing
    -- and the census keeps det_score >= face_min_score): kept or not, why, and the numbers behind it
    verified boolean,
    verdict varchar,
    evidence json,
    primary key (run_id, image_id, face_idx)
);
-- warehouses created before the verification columns existed
alter table raw.faces add column if not exists verified boolean;
alter table raw.faces add column if not exists verdict varchar;
alter table raw.faces add column if not exists evidence json;

create table if not exists raw.nsfw (
    run_id varchar not null,
    image_id varchar not null,
    nsfw_score double check (isfinite(nsfw_score) and nsfw_score between 0 and 1),
    probs json,
    primary key (run_id, image_id)
);

create table if not exists raw.predictions (
    run_id varchar not null,
    image_id varchar not null,
    rank integer not null check (rank between 1 and 5),
    class_index integer,
    wnid varchar,
    prob double check (isfinite(prob)),
    primary key (run_id, image_id, rank)
);

-- Group attributes of a face (e.g. skin_type of a reference label), one row per attribute:
-- `ingest import --kind faces` fills it from columns named attr_<attribute>.
create table if not exists raw.face_attributes (
    run_id varchar not null,
    image_id varchar not null,
    face_idx integer not null,
    attribute varchar not null,
    value varchar,
    primary key (run_id, image_id, face_idx, attribute)
);

-- Human review (DESIGN.md, "Human review"): one row per answer of one reviewer to one
-- question about an image (annotator and face_idx NULL) or about one face box of an
-- annotator. `ingest review land` (answers given in `ingest review serve`) and
-- `ingest import --kind reviews` write it; review_id is then a hash of (dataset, reviewer,
-- image_id, annotator, face_idx, question), so a reviewer has one answer per item and
-- landing twice adds nothing. Answers are never updated: another reviewer's is another row.
create table if not exists raw.reviews (
    review_id varchar primary key default (cast(uuid() as varchar)),
    dataset varchar not null,
    reviewer varchar not null,
    image_id varchar not null,
    annotator varchar,
    face_idx integer,
    question varchar not null,
    answer varchar not null,
    reviewed_at timestamp default current_timestamp,
    note varchar
);

-- Captions and metadata of samples (DESIGN.md, "Datasets as users hold them"): one row per
-- image of a webdataset shard (its .txt and .json members) or of a Parquet file of image
-- bytes (its caption column and its other scalar columns as JSON). Stage-less: `ingest run`
-- writes it after the images it lists have landed; the first caption recorded stays.
create table if not exists raw.captions (
    image_id varchar primary key,
    dataset varchar not null,
    caption varchar,
    meta json,
    first_seen_at timestamp default current_timestamp
);

-- The label-space audit (`ingest labels audit`): one row per wnid of a label set (ilsvrc1k,
-- imagenet21k, or a file's name) as WordNet 3.0 sees it. Stage-less; a rerun replaces the
-- label set's rows. Flags are WordNet's own usage-domain pointers (";u") of the synset.
create table if not exists raw.label_synsets (
    label_set varchar not null,
    wnid varchar not null,
    in_wordnet boolean not null,
    synset varchar,
    lemmas varchar,
    lexname varchar,
    depth integer,
    is_person boolean not null,
    usage_domains varchar,
    ethnic_slur boolean not null,
    obscenity boolean not null,
    disparagement boolean not null,
    vulgarism boolean not null,
    slang boolean not null,
    colloquialism boolean not null,
    audited_at timestamp default current_timestamp,
    primary key (label_set, wnid)
);

-- Image-level face labels (DESIGN.md, "Image-level reference labels"): one row per image of a
-- reference run (stage `image_faces`, annotator `reference/<name>`) saying whether the image
-- shows a real human face. `ingest import --kind image_face_labels` and `ingest evaluate
-- faces` write it; like every stage, the run's image_runs rows say which images it covers.
create table if not exists raw.image_face_labels (
    run_id varchar not null,
    image_id varchar not null,
    label varchar not null check (label in ('yes', 'no', 'depiction', 'unsure')),
    n_faces integer check (n_faces >= 0),
    note varchar,
    primary key (run_id, image_id)
);
