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
