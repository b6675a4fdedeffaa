#include "consumer/apply_sql.h"

#include "common/sql_quote.h"
#include "consumer/settings.h"
#include "consumer/target_schema.h"

namespace cdc::consumer {
namespace {

std::string Q(std::string_view identifier) {
  return QuoteIdentifier(SqlDialect::kPostgres, identifier);
}

std::string Target(const StageSpec& spec) { return Q(spec.schema) + "." + Q(spec.table); }

// "t.a = s.a AND t.b = s.b" over the key columns.
std::string KeyMatch(const StageSpec& spec, const std::string& left, const std::string& right) {
  std::string out;
  for (const std::string& k : spec.key) {
    if (!out.empty()) out += " AND ";
    out += left + "." + Q(k) + " = " + right + "." + Q(k);
  }
  return out;
}

}  // namespace

std::string CreateStageSql(const StageSpec& spec) {
  std::string select;
  for (const std::string& column : spec.columns) select += Q(column) + ", ";
  select +=
      Q(kSeqColumn) + ", " + Q(kOpColumn) + ", " + Q(kSourceTsColumn) + ", NULL::text AS _cdc_key";
  return "CREATE TEMP TABLE " + Q(spec.stage) + " ON COMMIT DELETE ROWS AS SELECT " + select +
         " FROM " + Target(spec) + " WITH NO DATA";
}

std::string CopyStageSql(const StageSpec& spec, bool binary) {
  std::string columns;
  for (const std::string& column : spec.columns) columns += Q(column) + ", ";
  columns += Q(kSeqColumn) + ", " + Q(kOpColumn) + ", " + Q(kSourceTsColumn) + ", _cdc_key";
  return "COPY " + Q(spec.stage) + " (" + columns + ") FROM STDIN" +
         (binary ? " (FORMAT binary)" : "");
}

std::string UpsertSql(const StageSpec& spec, TombstoneCheck check_mode) {
  std::string columns;
  std::string values;
  std::string updates;
  for (const std::string& column : spec.columns) {
    columns += Q(column) + ", ";
    values += "s." + Q(column) + ", ";
    updates += Q(column) + " = EXCLUDED." + Q(column) + ", ";
  }
  columns += Q(kSeqColumn) + ", " + Q(kOpColumn) + ", " + Q(kSourceTsColumn) + ", " +
             Q(kAppliedAtColumn) + ", " + Q(kDeletedAtColumn);
  values += "s." + Q(kSeqColumn) + ", s." + Q(kOpColumn) + ", s." + Q(kSourceTsColumn) +
            ", statement_timestamp(), NULL";
  for (const char* meta :
       {kSeqColumn, kOpColumn, kSourceTsColumn, kAppliedAtColumn, kDeletedAtColumn}) {
    updates += Q(meta) + " = EXCLUDED." + Q(meta) + ", ";
  }
  updates.resize(updates.size() - 2);
  std::string conflict;
  for (const std::string& k : spec.key) conflict += (conflict.empty() ? "" : ", ") + Q(k);
  const std::string check =
      check_mode == TombstoneCheck::kNone
          ? ""
          : " AND NOT EXISTS (SELECT 1 FROM cdc.tombstones d WHERE d.target_schema = $1"
            " AND d.target_table = $2 AND d.seq >= $3::bigint AND d.key = s._cdc_key"
            " AND d.seq >= s." +
                Q(kSeqColumn) + ")";
  return "INSERT INTO " + Target(spec) + " AS t (" + columns + ") SELECT " + values + " FROM " +
         Q(spec.stage) + " s WHERE s." + Q(kOpColumn) + " <> 'd'" + check + " ON CONFLICT (" +
         conflict + ") DO UPDATE SET " + updates + " WHERE t." + Q(kSeqColumn) + " < EXCLUDED." +
         Q(kSeqColumn) +
         // A snapshot read at the same position replaces what is there: two backfills can read
         // at one position (columns added twice with no change between), the later one with
         // more columns. Topic order is the order they were read in.
         " OR (t." + Q(kSeqColumn) + " = EXCLUDED." + Q(kSeqColumn) + " AND EXCLUDED." +
         Q(kOpColumn) + " = 'r')";
}

std::string NewestTombstoneSql() {
  // Not max(seq): without statistics the planner reads every remembered delete of the table for
  // it (6 ms at 30k tombstones, per batch); ORDER BY … LIMIT 1 always reads the index's last entry.
  return "SELECT seq FROM cdc.tombstones WHERE target_schema = $1 AND target_table = $2"
         " ORDER BY seq DESC LIMIT 1";
}

std::string DeleteSql(const StageSpec& spec, DeleteMode mode) {
  const std::string guard = "s." + Q(kOpColumn) + " = 'd' AND " + KeyMatch(spec, "t", "s") +
                            " AND t." + Q(kSeqColumn) + " < s." + Q(kSeqColumn);
  if (mode == DeleteMode::kHard) {
    return "DELETE FROM " + Target(spec) + " t USING " + Q(spec.stage) + " s WHERE " + guard;
  }
  return "UPDATE " + Target(spec) + " t SET " + Q(kSeqColumn) + " = s." + Q(kSeqColumn) + ", " +
         Q(kOpColumn) + " = 'd', " + Q(kSourceTsColumn) + " = s." + Q(kSourceTsColumn) + ", " +
         Q(kAppliedAtColumn) + " = statement_timestamp(), " + Q(kDeletedAtColumn) +
         " = statement_timestamp() FROM " + Q(spec.stage) + " s WHERE " + guard;
}

std::string RememberDeletesSql(const StageSpec& spec) {
  return "INSERT INTO cdc.tombstones AS d (target_schema, target_table, key, seq, source_ts, "
         "deleted_at) SELECT $1, $2, s._cdc_key, s." +
         Q(kSeqColumn) + ", s." + Q(kSourceTsColumn) + ", statement_timestamp() FROM " +
         Q(spec.stage) + " s WHERE s." + Q(kOpColumn) +
         " = 'd' ON CONFLICT (target_schema, target_table, key) DO UPDATE SET seq = EXCLUDED.seq,"
         " source_ts = EXCLUDED.source_ts, deleted_at = EXCLUDED.deleted_at"
         " WHERE d.seq < EXCLUDED.seq";
}

std::string ClearStageSql(const StageSpec& spec) { return "TRUNCATE " + Q(spec.stage); }

std::string TargetColumnTypesSql() {
  return "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
         " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
         " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped"
         " ORDER BY a.attnum";
}

}  // namespace cdc::consumer
