#include "producer/dialect.h"

#include "common/error.h"

namespace cdc::producer {
namespace {

std::string Q(SqlDialect dialect, std::string_view name) { return QuoteIdentifier(dialect, name); }

}  // namespace

SqlDialect ParseDialect(std::string_view text) {
  if (text == "oracle") return SqlDialect::kOracle;
  if (text == "postgres") return SqlDialect::kPostgres;
  if (text == "sqlite") return SqlDialect::kSqlite;
  throw FatalError("DIALECT", "source.dialect: unknown dialect \"" + std::string(text) + "\"");
}

SqlDialect DialectFromDbmsName(std::string_view dbms_name) {
  auto starts = [&](std::string_view prefix) {
    return dbms_name.substr(0, prefix.size()) == prefix;
  };
  if (starts("Oracle")) return SqlDialect::kOracle;
  if (starts("PostgreSQL")) return SqlDialect::kPostgres;
  if (starts("SQLite")) return SqlDialect::kSqlite;
  throw FatalError("DIALECT", "source.dialect: the source's DBMS \"" + std::string(dbms_name) +
                                  "\" is not one of oracle|postgres|sqlite");
}

TableName TableName::Parse(std::string_view text) {
  TableName name;
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    name.table = std::string(text);
  } else {
    name.schema = std::string(text.substr(0, dot));
    name.table = std::string(text.substr(dot + 1));
    if (name.schema.empty() || name.table.find('.') != std::string::npos) {
      throw PermanentError("TABLE_NAME",
                           "expected SCHEMA.TABLE, got \"" + std::string(text) + "\"");
    }
  }
  if (name.table.empty()) {
    throw PermanentError("TABLE_NAME", "expected SCHEMA.TABLE, got \"" + std::string(text) + "\"");
  }
  return name;
}

std::string TableName::Quoted(SqlDialect dialect) const {
  if (schema.empty()) return Q(dialect, table);
  return QuoteQualified(dialect, {schema, table});
}

std::string RowLimit(SqlDialect dialect, size_t limit) {
  if (dialect == SqlDialect::kOracle) {
    return "FETCH FIRST " + std::to_string(limit) + " ROWS ONLY";
  }
  return "LIMIT " + std::to_string(limit);
}

std::string NewChangesQuery(SqlDialect dialect, const TableName& change_table, size_t limit) {
  const std::string seq = Q(dialect, kSeqColumn);
  return "SELECT * FROM " + change_table.Quoted(dialect) + " WHERE " + seq + " > ? ORDER BY " +
         seq + " " + RowLimit(dialect, limit);
}

std::string GapChangesQuery(SqlDialect dialect, const TableName& change_table, size_t ranges,
                            size_t limit) {
  const std::string seq = Q(dialect, kSeqColumn);
  std::string where;
  for (size_t i = 0; i < ranges; ++i) {
    if (i > 0) where += " OR ";
    where += "(" + seq + " BETWEEN ? AND ?)";
  }
  return "SELECT * FROM " + change_table.Quoted(dialect) + " WHERE " + where + " ORDER BY " + seq +
         " " + RowLimit(dialect, limit);
}

std::optional<std::string> TransactionHorizonQuery(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kPostgres:
      return "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s)"
             " FROM (SELECT txid_current_snapshot() AS s) h";
    case SqlDialect::kOracle:
      return "SELECT COALESCE((SELECT MIN(START_SCN) FROM GV$TRANSACTION), CURRENT_SCN + 1),"
             " CURRENT_SCN + 1 FROM V$DATABASE";
    case SqlDialect::kSqlite:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string MaxSeqQuery(SqlDialect dialect, const TableName& change_table) {
  return "SELECT MAX(" + Q(dialect, kSeqColumn) + ") FROM " + change_table.Quoted(dialect);
}

std::string SeqsAboveQuery(SqlDialect dialect, const TableName& change_table, size_t limit) {
  const std::string seq = Q(dialect, kSeqColumn);
  return "SELECT " + seq + " FROM " + change_table.Quoted(dialect) + " WHERE " + seq +
         " > ? ORDER BY " + seq + " " + RowLimit(dialect, limit);
}

std::vector<size_t> KeysetParameterOrder(size_t key_columns) {
  // (k1 > ?) OR (k1 = ? AND k2 > ?) OR (k1 = ? AND k2 = ? AND k3 > ?) ...
  std::vector<size_t> order;
  for (size_t term = 0; term < key_columns; ++term) {
    for (size_t k = 0; k <= term; ++k) order.push_back(k);
  }
  return order;
}

std::string SnapshotChunkQuery(SqlDialect dialect, const TableName& table_name,
                               const event::TableMeta& table, bool after, size_t limit) {
  std::string columns;
  for (const event::ColumnMeta& column : table.columns) {
    if (!columns.empty()) columns += ", ";
    columns += Q(dialect, column.name);
  }
  std::string order_by;
  for (size_t k : table.key) {
    if (!order_by.empty()) order_by += ", ";
    order_by += Q(dialect, table.columns[k].name);
  }
  std::string sql = "SELECT " + columns + " FROM " + table_name.Quoted(dialect);
  if (after) {
    // Oracle has no row-value comparison: expand (k1, k2) > (?, ?) into its OR form.
    std::string where;
    for (size_t term = 0; term < table.key.size(); ++term) {
      if (term > 0) where += " OR ";
      where += "(";
      for (size_t k = 0; k <= term; ++k) {
        if (k > 0) where += " AND ";
        where += Q(dialect, table.columns[table.key[k]].name) + (k == term ? " > ?" : " = ?");
      }
      where += ")";
    }
    sql += " WHERE " + where;
  }
  return sql + " ORDER BY " + order_by + " " + RowLimit(dialect, limit);
}

std::string PurgeQuery(SqlDialect dialect, const TableName& change_table) {
  const std::string seq = Q(dialect, kSeqColumn);
  return "DELETE FROM " + change_table.Quoted(dialect) + " WHERE " + seq + " <= ? AND " + seq +
         " > ?";
}

}  // namespace cdc::producer
