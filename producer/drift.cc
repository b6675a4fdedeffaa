#include "producer/drift.h"

#include <algorithm>

#include "common/event/types.h"
#include "producer/catalog.h"
#include "producer/ddl.h"

namespace cdc::producer {
namespace {

std::optional<std::string> QueryText(odbc::Connection& connection, const std::string& sql,
                                     const std::vector<std::string>& parameters) {
  odbc::Statement statement(connection);
  statement.Prepare(sql);
  for (size_t i = 0; i < parameters.size(); ++i) {
    statement.BindText(static_cast<SQLUSMALLINT>(i + 1), parameters[i]);
  }
  statement.Execute();
  odbc::RowBatch batch;
  std::optional<std::string> out;
  if (statement.FetchBatch(batch, 1, 1 << 20) && batch.Get(0, 0))
    out = std::string(*batch.Get(0, 0));
  statement.CloseCursor();
  return out;
}

// The trigger statements `ddl` would run now, compared with what the source holds.
void CompareTriggers(odbc::Connection& connection, SqlDialect dialect,
                     const TableName& change_table, const std::vector<DdlStatement>& statements,
                     std::vector<std::string>& out) {
  for (const DdlStatement& statement : statements) {
    const std::string& sql = statement.sql;
    if (dialect == SqlDialect::kPostgres && sql.rfind("CREATE OR REPLACE FUNCTION", 0) == 0) {
      const size_t begin = sql.find("$cdc$") + 5;
      const std::string body = sql.substr(begin, sql.rfind("$cdc$") - begin);
      const std::optional<std::string> installed = QueryText(
          connection,
          "SELECT p.prosrc FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = "
          "p.pronamespace WHERE n.nspname = ? AND p.proname = ?",
          {change_table.schema, change_table.table + "_FN"});
      if (installed != body) {
        out.push_back(installed ? "the trigger function is not the one ddl generates for the "
                                  "table now"
                                : "the trigger function is missing");
      }
    } else if (dialect == SqlDialect::kSqlite && sql.rfind("CREATE TRIGGER", 0) == 0) {
      const size_t name_end = sql.find(" AFTER ");
      const size_t name_begin = sql.rfind('"', sql.rfind('"', name_end) - 1) + 1;
      const std::string name = sql.substr(name_begin, sql.rfind('"', name_end) - name_begin);
      // SQLite keeps the statement's text without the schema before the trigger's name.
      const std::string stored = "CREATE TRIGGER \"" + sql.substr(name_begin);
      const std::optional<std::string> installed = QueryText(
          connection, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", {name});
      if (installed != stored) {
        out.push_back(
            "trigger " + name +
            (installed ? " is not the one ddl generates for the table now" : " is missing"));
      }
    }
  }
}

}  // namespace

TableName QualifiedChangeTable(odbc::Connection& connection, SqlDialect dialect,
                               TableName change_table) {
  if (dialect != SqlDialect::kPostgres || !change_table.schema.empty()) return change_table;
  change_table.schema = QueryText(connection, "SELECT current_schema()", {}).value_or("");
  return change_table;
}

std::vector<std::string> ChangeTableDrift(odbc::Connection& connection, SqlDialect dialect,
                                          const TableName& table, const TableName& change_table,
                                          const std::vector<std::string>& key_override,
                                          const std::string& key_setting,
                                          const CaptureOptions& options) {
  const event::TableMeta meta =
      ReadTableMeta(connection, dialect, table, key_override, key_setting);
  const std::vector<event::ColumnMeta> existing = ReadColumns(connection, dialect, change_table);
  if (existing.empty()) return {"change table " + change_table.ToString() + " does not exist"};
  std::vector<std::string> out;
  for (const event::ColumnMeta& column : ChangeDataColumns(dialect, meta, options)) {
    const auto present = std::find_if(existing.begin(), existing.end(),
                                      [&](const auto& c) { return c.name == column.name; });
    if (present == existing.end()) {
      out.push_back("column " + column.name + " is not in the change table");
    } else if (dialect != SqlDialect::kSqlite &&
               ChangeColumnType(dialect, *present) != ChangeColumnType(dialect, column)) {
      out.push_back("column " + column.name + " is " + ChangeColumnType(dialect, *present) +
                    " in the change table, " + ChangeColumnType(dialect, column) +
                    " in the table needs");
    }
  }
  const TableName qualified = QualifiedChangeTable(connection, dialect, change_table);
  CompareTriggers(connection, dialect, qualified,
                  ChangeTableDdl(dialect, table, meta, qualified, existing, options), out);
  if (!out.empty()) out.push_back("run cdc-producer ddl --apply");
  return out;
}

}  // namespace cdc::producer
