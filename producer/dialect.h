// The source dialects and the SQL the producer runs against them. Everything here is pure text
// generation: identifiers go through QuoteIdentifier, values are always `?` parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event/types.h"
#include "common/sql_quote.h"

namespace cdc::producer {

// "oracle" | "postgres" | "sqlite" (the config's source.dialect values, without "auto").
SqlDialect ParseDialect(std::string_view text);
// The dialect for a SQLGetInfo(SQL_DBMS_NAME) answer ("Oracle", "PostgreSQL", "SQLite"); throws
// FatalError("DIALECT") for any other DBMS, naming it and the source.dialect setting.
SqlDialect DialectFromDbmsName(std::string_view dbms_name);

// A table name as configured: "SCHEMA.TABLE" (or just "TABLE").
struct TableName {
  std::string schema;  // empty when the name had no schema part
  std::string table;

  // Parses "SCHEMA.TABLE"; throws PermanentError("TABLE_NAME") for empty parts or more dots.
  static TableName Parse(std::string_view text);
  std::string ToString() const { return schema.empty() ? table : schema + "." + table; }
  std::string Quoted(SqlDialect dialect) const;
};

// The fixed metadata columns at the start of every change table.
inline constexpr std::string_view kSeqColumn = "CDC_SEQ";
inline constexpr std::string_view kOpColumn = "CDC_OP";
inline constexpr std::string_view kTsColumn = "CDC_TS";
inline constexpr std::string_view kTxidColumn = "CDC_TXID";
inline constexpr size_t kMetadataColumns = 4;

// SELECT * FROM <ct> WHERE CDC_SEQ > ? ORDER BY CDC_SEQ <limit n>. SELECT * so that a column
// added to the change table shows up in the result's description at the next poll.
std::string NewChangesQuery(SqlDialect dialect, const TableName& change_table, size_t limit);

// The same, restricted to `ranges` pairs of `CDC_SEQ BETWEEN ? AND ?` (joined by OR): how
// pending gaps are re-read. Unused pairs are bound as (1, 0), which matches nothing.
std::string GapChangesQuery(SqlDialect dialect, const TableName& change_table, size_t ranges,
                            size_t limit);

// SELECT MAX(CDC_SEQ) FROM <ct>.
std::string MaxSeqQuery(SqlDialect dialect, const TableName& change_table);

// The CDC_SEQ values above ? in order, up to `limit` rows: used to find in-doubt sequence
// numbers at a snapshot hand-off.
std::string SeqsAboveQuery(SqlDialect dialect, const TableName& change_table, size_t limit);

// SELECT <table columns> FROM <table> [WHERE <keyset after ?...>] ORDER BY <key> <limit n>.
// With `after` set the query has one parameter per key column for each expansion of the
// row-value comparison (k1 > ?) OR (k1 = ? AND k2 > ?) ...; KeysetParameterOrder says which key
// column each `?` takes, in order.
std::string SnapshotChunkQuery(SqlDialect dialect, const TableName& table_name,
                               const event::TableMeta& table, bool after, size_t limit);
std::vector<size_t> KeysetParameterOrder(size_t key_columns);

// One row (oldest open transaction, next transaction) in the database's own unit - see TxHorizon
// in gap_tracker.h - or nullopt where there is none to ask (SQLite: one writer at a time).
//   PostgreSQL: txid_current_snapshot()'s xmin and xmax (64-bit, epoch included; any version).
//   Oracle: MIN(START_SCN) of GV$TRANSACTION (every RAC instance) and CURRENT_SCN + 1 from
//   V$DATABASE; needs SELECT on GV_$TRANSACTION and V_$DATABASE.
std::optional<std::string> TransactionHorizonQuery(SqlDialect dialect);

// DELETE FROM <ct> WHERE CDC_SEQ <= ? AND CDC_SEQ > ? (purge in bounded ranges).
std::string PurgeQuery(SqlDialect dialect, const TableName& change_table);

// The row-limit clause of `dialect` ("LIMIT n" or Oracle 12c+'s "FETCH FIRST n ROWS ONLY").
std::string RowLimit(SqlDialect dialect, size_t limit);

}  // namespace cdc::producer
