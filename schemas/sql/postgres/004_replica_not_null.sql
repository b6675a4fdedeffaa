-- Replica columns that are NOT NULL because the source declares them so (not key columns, not an
-- operator's constraint): cdc-consumer drops such a NOT NULL when the source's schema drops it,
-- and leaves every other NOT NULL as it is (events that break one are dead letters).
ALTER TABLE cdc.tables ADD COLUMN IF NOT EXISTS source_not_null text[] NOT NULL DEFAULT '{}';
