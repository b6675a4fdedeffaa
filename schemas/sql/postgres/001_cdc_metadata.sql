-- The pipeline's own tables in schema cdc: consumer offsets, remembered deletes, dead letters and
-- the replicated-table registry. cdc-consumer applies this at start (see consumer/migrations.h);
-- cdc-api reads it. Every statement is idempotent.

CREATE SCHEMA IF NOT EXISTS cdc;

-- Where each consumer group continues in each partition. Written in the same transaction as the
-- rows the consumed events produced (exactly-once effect).
CREATE TABLE IF NOT EXISTS cdc.offsets (
  group_id    text        NOT NULL,
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Hard (and soft) deletes with their source position, so that an older insert or update that is
-- replayed later cannot resurrect the row. `key` is the JSON array of the key values' text.
CREATE TABLE IF NOT EXISTS cdc.tombstones (
  target_schema text        NOT NULL,
  target_table  text        NOT NULL,
  key           text        NOT NULL,
  seq           bigint      NOT NULL,
  source_ts     timestamptz,
  deleted_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target_schema, target_table, key)
);
CREATE INDEX IF NOT EXISTS tombstones_seq ON cdc.tombstones (target_schema, target_table, seq);
CREATE INDEX IF NOT EXISTS tombstones_deleted_at ON cdc.tombstones (deleted_at);

-- Records that could not be decoded or applied, with the original bytes and the error.
CREATE TABLE IF NOT EXISTS cdc.dead_letters (
  id            bigserial   PRIMARY KEY,
  group_id      text        NOT NULL,
  topic         text        NOT NULL,
  partition     integer     NOT NULL,
  "offset"      bigint      NOT NULL,
  key           bytea,
  value         bytea,
  headers       jsonb       NOT NULL DEFAULT '[]',
  source_table  text,
  target_table  text,
  stage         text        NOT NULL CHECK (stage IN ('decode', 'apply')),
  error_class   text        NOT NULL,
  error_code    text,
  error_message text        NOT NULL,
  failed_at     timestamptz NOT NULL DEFAULT now(),
  redriven_at   timestamptz,
  redrive_count integer     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_letters_open ON cdc.dead_letters (id) WHERE redriven_at IS NULL;
CREATE INDEX IF NOT EXISTS dead_letters_table ON cdc.dead_letters (target_table, error_class);

-- Every replicated table and its progress.
CREATE TABLE IF NOT EXISTS cdc.tables (
  target_schema   text        NOT NULL,
  target_table    text        NOT NULL,
  source_table    text        NOT NULL,
  topic           text        NOT NULL,
  last_seq        bigint,
  last_source_ts  timestamptz,
  last_applied_at timestamptz,
  rows_applied    bigint      NOT NULL DEFAULT 0,
  deletes_applied bigint      NOT NULL DEFAULT 0,
  schema_id       integer,
  key_columns     text[]      NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target_schema, target_table)
);
