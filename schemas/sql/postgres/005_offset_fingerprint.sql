-- The log's identity check: with each stored position, a fingerprint of the record just before it
-- (FNV-1a 64 of its timestamp, key and value; consumer/batch.h). On assignment cdc-consumer reads
-- that record again and compares: a topic re-created or a broker that lost its data shows as a
-- different record (or none), never as a silent skip. NULL: stored before this column existed,
-- or rewound by a replay; such a position is checked against the log's offset range only.
ALTER TABLE cdc.offsets ADD COLUMN IF NOT EXISTS last_fingerprint bigint;
-- A partition re-applied from its log's start after an offset reset (consumer.on_offset_reset:
-- replay) is not caught up before this offset: /ready stays 503 until then, across restarts.
-- Cleared by the apply transaction that reaches it.
ALTER TABLE cdc.offsets ADD COLUMN IF NOT EXISTS replay_until bigint;
