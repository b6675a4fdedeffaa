// The SQL of one staged, version-guarded apply into one target table. Pure: statements only.
//
// Per (target table, writer schema) within a batch transaction:
//   1. once per connection: CREATE TEMP TABLE <stage> ON COMMIT DELETE ROWS with the event's
//      columns, typed as the target's columns are then, + _cdc_seq, _cdc_op, _cdc_source_ts,
//      _cdc_key (the canonical key text). Reused by later batches (a table created and dropped
//      per batch cost ~5% of the server's time and churned the system catalogs);
//   2. COPY <stage> FROM STDIN (one row per winning event; a delete carries its key columns);
//   3. upsert the non-deletes: INSERT … ON CONFLICT (key) DO UPDATE … WHERE target._cdc_seq <
//      EXCLUDED._cdc_seq, skipping rows whose key has a remembered delete at the same or a later
//      seq (so an older replayed insert never resurrects a deleted row). That check hashes the
//      table's remembered deletes, so it is made only when the newest of them is at or above the
//      lowest seq being upserted (NewestTombstoneSql): when replaying or when lanes interleave,
//      not when streaming events that are newer than every remembered delete;
//   4. apply the deletes with the same guard (hard: DELETE; soft: set _cdc_deleted_at);
//   5. remember the deletes in cdc.tombstones (keeping the highest seq per key);
//   6. TRUNCATE <stage> before another subset of the same table reuses it in the same
//      transaction (COMMIT empties it).
// Statement 5, NewestTombstoneSql and the checked upsert take $1 = target schema,
// $2 = target table; the checked upsert also $3 = the lowest seq being upserted, so it reads only
// the remembered deletes at or above it (one range of tombstones_seq) - not every delete of the
// table, which retention keeps for a week and a hash anti-join read per batch without statistics.
#pragma once

#include <string>
#include <vector>

namespace cdc::consumer {

enum class DeleteMode;

struct StageSpec {
  std::string schema;                // target schema
  std::string table;                 // target table
  std::string stage;                 // temp table name
  std::vector<std::string> columns;  // the event's target columns, in the order COPY sends them
  std::vector<std::string> key;      // primary-key columns
};

std::string CreateStageSql(const StageSpec& spec);
// COPY column order: spec.columns, then _cdc_seq, _cdc_op, _cdc_source_ts, _cdc_key; text or
// binary format.
std::string CopyStageSql(const StageSpec& spec, bool binary);
enum class TombstoneCheck {
  kNone,     // no remembered delete can block these rows: no parameters
  kChecked,  // skip rows whose key has a remembered delete at the same or a later seq
};
std::string UpsertSql(const StageSpec& spec, TombstoneCheck check);
// The highest seq of a remembered delete of ($1, $2): one row, or none when there is none. One
// backward step on tombstones_seq, whatever the statistics say.
std::string NewestTombstoneSql();
std::string DeleteSql(const StageSpec& spec, DeleteMode mode);
std::string RememberDeletesSql(const StageSpec& spec);
std::string ClearStageSql(const StageSpec& spec);
// The columns of table $2 in schema $1 with their types (format_type), in column order; no rows
// when the table does not exist. A stage made when this was different is typed wrongly.
std::string TargetColumnTypesSql();

}  // namespace cdc::consumer
