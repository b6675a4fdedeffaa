// Change-table DDL per dialect, generated from the source table's catalog metadata. For table T
// the change table has CDC_SEQ (increasing: sequence / identity / AUTOINCREMENT, indexed),
// CDC_OP ('I','U','D'), CDC_TS (UTC time of change), CDC_TXID (nullable), then every column of T:
// the new image for I/U and the old image for D; with before_image (CaptureOptions), then each
// column's old image on a U in OldImageColumn(column) (null on I and D). An update that changes
// the key records a D of the old key and an I of the new one. Pure text generation; identifiers
// go through QuoteIdentifier.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/event/types.h"
#include "common/sql_quote.h"
#include "producer/dialect.h"

namespace cdc::producer {

struct DdlStatement {
  DdlStatement(std::string text, bool is_block = false, std::string hint = "")
      : sql(std::move(text)), block(is_block), if_it_fails(std::move(hint)) {}

  std::string sql;
  bool block = false;  // a PL/SQL block: a script ends it with "/" instead of ";"
  // What a failure of the statement most likely means and what to do; added to its error.
  std::string if_it_fails;
};

// What a table's capture records beyond each row's new image (producer.tables[].*).
struct CaptureOptions {
  bool before_image = false;  // an update's old image too
};

// The statements that create `change_table` and the trigger(s) on `table_name` that fill it.
// When the change table exists already (`existing_columns`: its columns as the catalog reads
// them), the statements evolve it instead: ALTER TABLE ... ADD for each column of `table` it
// lacks, ALTER COLUMN ... TYPE (Oracle: MODIFY) for each whose type differs from the one `table`
// needs now (a widened column), then the trigger(s) replaced so they copy every column. A
// dropped column stays in the change table (null from then on), as do old-image columns when
// before_image is turned off. Run them in one transaction where
// DDL is transactional (PostgreSQL, SQLite) so no change falls between a trigger's drop and its
// re-creation.
std::vector<DdlStatement> ChangeTableDdl(
    SqlDialect dialect, const TableName& table_name, const event::TableMeta& table,
    const TableName& change_table,
    const std::optional<std::vector<event::ColumnMeta>>& existing_columns = std::nullopt,
    const CaptureOptions& options = {});

// The columns the change table needs after its metadata columns: `table`'s, then (before_image)
// the old-image column of each (OldImageColumn), with the same column's type.
std::vector<event::ColumnMeta> ChangeDataColumns(SqlDialect dialect, const event::TableMeta& table,
                                                 const CaptureOptions& options);

// The statements that drop the capture trigger(s) of `table_name` (IF EXISTS), as
// ChangeTableDdl's own replacement of them does.
std::vector<DdlStatement> DropCaptureTriggers(SqlDialect dialect, const TableName& table_name,
                                              const TableName& change_table);

// The statements as a script: a header comment, each statement followed by ";" (or "\n/" for
// blocks) and a blank line.
std::string DdlScript(SqlDialect dialect, const TableName& table_name,
                      const std::vector<DdlStatement>& statements);

// The column type a change table uses for `column` in `dialect` (e.g. NUMBER(12,2)): in the
// column's own database its exact type (ColumnMeta::db_type; see pg_types.h, and SQLite's
// declared type), so that every value the table accepts, the change table accepts too;
// otherwise (DDL for another database) the contract type's nearest equivalent.
std::string ChangeColumnType(SqlDialect dialect, const event::ColumnMeta& column);

}  // namespace cdc::producer
