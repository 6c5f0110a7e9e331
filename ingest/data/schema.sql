-- The raw schema: the public contract between ingest (and any external tool) and dbt.
-- Names and meanings are fixed; columns may be added, never renamed or repurposed.
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
    det_score double check (det_score between 0 and 1),
    x1 double,
    y1 double,
    x2 double,
    y2 double,
    age double,
    gender_score double check (gender_score between 0 and 1),
    det_raw_score double,
    primary key (run_id, image_id, face_idx)
);

create table if not exists raw.nsfw (
    run_id varchar not null,
    image_id varchar not null,
    nsfw_score double check (nsfw_score between 0 and 1),
    probs json,
    primary key (run_id, image_id)
);

create table if not exists raw.predictions (
    run_id varchar not null,
    image_id varchar not null,
    rank integer not null check (rank between 1 and 5),
    class_index integer,
    wnid varchar,
    prob double,
    primary key (run_id, image_id, rank)
);
