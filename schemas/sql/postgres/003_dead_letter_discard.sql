-- Dead letters that can never apply are discarded (`cdc-consumer dlq discard`, or cdc-api's
-- POST /api/v1/dead-letters/{id}/discard): kept for audit with who discarded them, when and why,
-- and no longer open (redrive skips them). A letter's state: open, redriven or discarded.
ALTER TABLE cdc.dead_letters
  ADD COLUMN IF NOT EXISTS discarded_at   timestamptz,
  ADD COLUMN IF NOT EXISTS discarded_by   text,
  ADD COLUMN IF NOT EXISTS discard_reason text;
DROP INDEX IF EXISTS cdc.dead_letters_open;
CREATE INDEX IF NOT EXISTS dead_letters_open ON cdc.dead_letters (id)
  WHERE redriven_at IS NULL AND discarded_at IS NULL;

-- Letters of records that could not be decoded were stored without their table: take it from the
-- table their topic is applied to, where exactly one is.
UPDATE cdc.dead_letters d SET target_table = t.target_table,
  source_table = COALESCE(d.source_table, t.source_table)
FROM cdc.tables t
WHERE d.target_table IS NULL AND t.topic = d.topic
  AND (SELECT count(*) FROM cdc.tables u WHERE u.topic = d.topic) = 1;
