// The source dialects and the SQL the producer runs against them. Everything here is pure text
// generation: identifiers go through QuoteIdentifier, values are always `?` parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/event/types.h"
#include "common/sql_quote.h"
#include "producer/gap_tracker.h"

namespace cdc::producer {

// "oracle" | "postgres" | "sqlite" (the config's source.dialect values, without "auto").
SqlDialect ParseDialect(std::string_view text);
// The dialect for a SQLGetInfo(SQL_DBMS_NAME) answer ("Oracle", "PostgreSQL", "SQLite"); throws
// FatalError("DIALECT") for any other DBMS, naming it and the source.dialect setting.
SqlDialect DialectFromDbmsName(std::string_view dbms_name);

// Statements run on every new source connection, so that what the driver returns reads the same
// whatever the server's, the session's and the client's defaults are:
//   PostgreSQL: time zone UTC (psqlODBC renders timestamptz without its offset), READ COMMITTED
//   (the gap rule needs every commit before a statement), synchronous_commit off (the horizon's
//   txid_current() commits wrote nothing), floats in their shortest exact form, ISO dates, the
//   default interval and bytea styles.
//   Oracle: '.' as the decimal separator, ISO date and timestamp formats (time-zone offset as
//   +HH:MM), TIME_ZONE UTC, binary sorting and comparison (keyset chunks compare with `>`).
//   SQLite: none.
std::vector<std::string> SessionSetup(SqlDialect dialect);

// One row, one text column: U+00E9 U+20AC U+4E2D made by the server from their code points (the
// statement itself is ASCII), which the driver must deliver as kTextProbe (UTF-8). An Oracle
// client without NLS_LANG=<...>.AL32UTF8 delivers '?' or '¿' instead.
std::string TextProbeQuery(SqlDialect dialect);
inline constexpr std::string_view kTextProbe = "\xC3\xA9\xE2\x82\xAC\xE4\xB8\xAD";

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

// With a table's before_image on, its change table also holds each column's old image on an
// update, in a column named OldImageColumn(column): "_cdc_old_" + the name (a source column
// cannot start with _cdc_: ColumnNameProblems), or, where that is over the dialect's identifier
// limit, the name cut at a character boundary and a hash of the whole name.
inline constexpr std::string_view kOldImagePrefix = "_cdc_old_";
std::string OldImageColumn(SqlDialect dialect, std::string_view column);
bool IsOldImageColumn(std::string_view name);
// The longest identifier the dialect holds, in bytes (0: no limit).
size_t IdentifierLimit(SqlDialect dialect);

// Where a column's plain value is read from: its change table or its source table (snapshots).
enum class ReadFrom { kChangeTable, kTable };

// How `column` is read exactly, over `reference` (the quoted, possibly qualified column), where
// the driver's rendering of the plain column is not exact; nullopt where it is.
//   PostgreSQL dates and timestamps: CAST(.. AS text) - psqlODBC turns 'infinity' into
//   9999-12-31 23:59:59, drops " BC" and renders years past 9999 as 0000-00-00.
//   PostgreSQL money (kTable only; change tables keep it as numeric): CAST(.. AS numeric).
//   SQLite float columns: REAL values as text that reads back to the same double (sqliteodbc
//   renders 15 digits); any other value as it is (SQLite enforces no type: text stays text).
//   SQLite bytes columns: CAST(.. AS BLOB) - text or a number stored there is its bytes, not
//   text for hex digits.
std::optional<std::string> ExactReadExpression(SqlDialect dialect, const event::ColumnMeta& column,
                                               const std::string& reference, ReadFrom from);

// The change queries below select `select_list` (ColumnReads) from the change table as cdc_read.

// New rows: CDC_SEQ > ? ORDER BY CDC_SEQ <limit n>.
std::string NewChangesQuery(SqlDialect dialect, const TableName& change_table,
                            const std::string& select_list, size_t limit);

// The same, restricted to `ranges` pairs of `CDC_SEQ BETWEEN ? AND ?` (joined by OR): how
// pending gaps are re-read. Unused pairs are bound as (1, 0), which matches nothing.
std::string GapChangesQuery(SqlDialect dialect, const TableName& change_table,
                            const std::string& select_list, size_t ranges, size_t limit);

// New rows (CDC_SEQ > ?, first parameter) and the `ranges` gap pairs that follow it, in ONE
// statement - one snapshot of the change table, so a row above a gap is never read at a later
// moment than the gap - ordered by CDC_SEQ, at most `limit` rows. The new rows are read in index
// order with their own limit (a UNION ALL of the two reads), not by one OR that would sort the
// whole backlog above the gaps.
std::string NewAndGapChangesQuery(SqlDialect dialect, const TableName& change_table,
                                  const std::string& select_list, size_t ranges, size_t limit);

// SELECT MAX(CDC_SEQ) FROM <ct>, and MIN.
std::string MaxSeqQuery(SqlDialect dialect, const TableName& change_table);
std::string MinSeqQuery(SqlDialect dialect, const TableName& change_table);

// SELECT <select_list> FROM <table> cdc_read [WHERE <keyset after ?...>] ORDER BY <key>
// <limit n>; `select_list` from ColumnReads (kTable), the table's columns in order.
// With `after` set the query has one parameter per key column for each expansion of the
// row-value comparison (k1 > ?) OR (k1 = ? AND k2 > ?) ...; KeysetParameterOrder says which key
// column each `?` takes, in order.
std::string SnapshotChunkQuery(SqlDialect dialect, const TableName& table_name,
                               const event::TableMeta& table, const std::string& select_list,
                               bool after, size_t limit);
std::vector<size_t> KeysetParameterOrder(size_t key_columns);

// The source's transaction horizon (see TxHorizon in gap_tracker.h) as rows (kind, value):
// 'n' the mark (only `with_mark`), 'c' complete_below, 'o' one per open transaction. nullopt where
// there is none to ask (SQLite: one writer at a time).
//   PostgreSQL: txid_current() (a fresh 64-bit id: this consumes one transaction id, and the
//   connection must be in autocommit mode), the statement snapshot's xmax and xip list.
//   Oracle: CURRENT_SCN + 1 from V$DATABASE (its complete_below too) and START_SCN of every
//   GV$TRANSACTION row (every RAC instance); needs SELECT on V_$DATABASE and GV_$TRANSACTION.
std::optional<std::string> TransactionHorizonQuery(SqlDialect dialect, bool with_mark);
// The horizon from that query's rows. Throws PermanentError("HORIZON") on an unexpected row.
TxHorizon ParseHorizon(SqlDialect dialect,
                       const std::vector<std::pair<std::string, int64_t>>& rows);
// True when a failed horizon query says that the source user may not read the horizon
// (PostgreSQL 42501 insufficient_privilege; Oracle ORA-00942 / ORA-01031) - the only errors that
// make a table fall back to giving gaps up after the timeout.
bool HorizonNotPermitted(SqlDialect dialect, const std::string& code, const std::string& message);

// DELETE FROM <ct> WHERE CDC_SEQ <= ? AND CDC_SEQ > ? (purge in bounded ranges).
std::string PurgeQuery(SqlDialect dialect, const TableName& change_table);

// The row-limit clause of `dialect` ("LIMIT n" or Oracle 12c+'s "FETCH FIRST n ROWS ONLY").
std::string RowLimit(SqlDialect dialect, size_t limit);

}  // namespace cdc::producer
