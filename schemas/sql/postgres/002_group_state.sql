-- Consumer group state beside cdc.offsets: replays (rewinds) and lag.

-- Replays of each consumer group: `cdc-consumer replay` counts its rewind here in the transaction
-- that rewinds cdc.offsets. A running member that lost its PostgreSQL connection (and with it its
-- share of the group lock, consumer/group_lock.h) compares the count when it takes the lock again:
-- a changed count means its positions in memory are older than the rewind, and it restarts.
CREATE TABLE IF NOT EXISTS cdc.group_rewinds (
  group_id    text        PRIMARY KEY,
  rewinds     bigint      NOT NULL,
  rewound_at  timestamptz NOT NULL,
  rewound_by  text        NOT NULL
);

-- The lag of each consumer group over every partition of its input topics, assigned to a member
-- or not: each running member measures it every few seconds (the partition's end offset from the
-- brokers, next_offset from cdc.offsets) and cdc-api serves it per table of its target schema.
-- behind_since is when a measurement first found the partition behind (NULL while caught up).
CREATE TABLE IF NOT EXISTS cdc.partition_lag (
  group_id     text        NOT NULL,
  target_schema text       NOT NULL,
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  end_offset   bigint      NOT NULL,
  next_offset  bigint      NOT NULL,
  behind_since timestamptz,
  observed_at  timestamptz NOT NULL,
  PRIMARY KEY (group_id, topic, partition)
);
