#include "producer/dialect.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace cdc::producer {
namespace {

std::string Q(SqlDialect dialect, std::string_view name) { return QuoteIdentifier(dialect, name); }

}  // namespace

size_t IdentifierLimit(SqlDialect dialect) {
  // PostgreSQL truncates past NAMEDATALEN - 1; Oracle 12.2+ refuses past 128; SQLite has none.
  return dialect == SqlDialect::kPostgres ? 63 : dialect == SqlDialect::kOracle ? 128 : 0;
}

std::string OldImageColumn(SqlDialect dialect, std::string_view column) {
  std::string name = std::string(kOldImagePrefix) + std::string(column);
  const size_t limit = IdentifierLimit(dialect);
  if (limit == 0 || name.size() <= limit) return name;
  uint32_t hash = 2166136261U;  // FNV-1a of the whole name: two long names that share a prefix
  for (const char c : column) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619U;
  constexpr size_t kHashText = 9;  // "_" and 8 hex digits
  size_t keep = limit - kOldImagePrefix.size() - kHashText;
  while (keep > 0 && (static_cast<unsigned char>(column[keep]) & 0xC0) == 0x80) --keep;
  char hex[kHashText + 1];
  std::snprintf(hex, sizeof(hex), "_%08x", hash);
  return std::string(kOldImagePrefix) + std::string(column.substr(0, keep)) + hex;
}

bool IsOldImageColumn(std::string_view name) { return name.starts_with(kOldImagePrefix); }

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

std::vector<std::string> SessionSetup(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kPostgres:
      return {"SET TIME ZONE 'UTC'",
              "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
              "SET synchronous_commit = off",
              "SET extra_float_digits = 3; SET DateStyle = 'ISO, YMD'; "
              "SET IntervalStyle = 'postgres'; SET bytea_output = 'hex'"};
    case SqlDialect::kOracle:
      return {
          "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'"
          " NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'"
          " NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'"
          " NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM'"
          " TIME_ZONE = 'UTC' NLS_SORT = BINARY NLS_COMP = BINARY"};
    case SqlDialect::kSqlite:
      break;
  }
  return {};
}

std::string TextProbeQuery(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kPostgres:
      return "SELECT U&'\\00E9\\20AC\\4E2D'";
    case SqlDialect::kOracle:
      return "SELECT UNISTR('\\00E9\\20AC\\4E2D') FROM DUAL";
    case SqlDialect::kSqlite:
      break;
  }
  return "SELECT char(233, 8364, 20013)";
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

std::optional<std::string> ExactReadExpression(SqlDialect dialect, const event::ColumnMeta& column,
                                               const std::string& reference, ReadFrom from) {
  using event::ColumnType;
  if (dialect == SqlDialect::kPostgres) {
    switch (column.type) {
      case ColumnType::kDate:
      case ColumnType::kTimestamp:
      case ColumnType::kTimestampTz:
        return "CAST(" + reference + " AS text)";
      case ColumnType::kDecimalText:
        if (from == ReadFrom::kTable) return "CAST(" + reference + " AS numeric)";
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }
  if (dialect == SqlDialect::kSqlite && column.type == ColumnType::kBytes) {
    // A BLOB column may hold text or numbers (SQLite enforces no type): their bytes, as SQLite's
    // CAST gives them, not their text taken for hex digits.
    return "CAST(" + reference + " AS BLOB)";
  }
  if (dialect == SqlDialect::kSqlite &&
      (column.type == ColumnType::kFloat64 || column.type == ColumnType::kFloat32)) {
    // 17 digits read back exactly below 1e96 (SQLite 3.40's printf, measured on 300,000 random
    // doubles); above, the value is halved down to its 53-bit integer mantissa (exact: a
    // division by two) and written as a hex float, which strtod reads exactly.
    const std::string& x = reference;
    return "CASE WHEN typeof(" + x + ") <> 'real' THEN " + x + " WHEN abs(" + x +
           ") < 1e96 THEN printf('%!.17g', " + x + ") WHEN " + x + " = 9e999 THEN 'inf' WHEN " + x +
           " = -9e999 THEN '-inf' ELSE (WITH RECURSIVE cdc_f(a, e) AS (SELECT abs(" + x +
           "), 0 UNION ALL SELECT a / 2.0, e + 1 FROM cdc_f WHERE a >= 9007199254740992 AND e < "
           "1100) SELECT printf('%s0x%xp%d', CASE WHEN " +
           x +
           " < 0 THEN '-' ELSE '' END, CAST(a AS INTEGER), e) FROM cdc_f WHERE a < "
           "9007199254740992) END";
  }
  return std::nullopt;
}

namespace {

std::string RangesWhere(SqlDialect dialect, size_t ranges) {
  const std::string seq = Q(dialect, kSeqColumn);
  std::string where;
  for (size_t i = 0; i < ranges; ++i) {
    if (i > 0) where += " OR ";
    where += "(" + seq + " BETWEEN ? AND ?)";
  }
  return where;
}

}  // namespace

std::string NewChangesQuery(SqlDialect dialect, const TableName& change_table,
                            const std::string& select_list, size_t limit) {
  const std::string seq = Q(dialect, kSeqColumn);
  return "SELECT " + select_list + " FROM " + change_table.Quoted(dialect) + " cdc_read WHERE " +
         seq + " > ? ORDER BY " + seq + " " + RowLimit(dialect, limit);
}

std::string GapChangesQuery(SqlDialect dialect, const TableName& change_table,
                            const std::string& select_list, size_t ranges, size_t limit) {
  const std::string seq = Q(dialect, kSeqColumn);
  return "SELECT " + select_list + " FROM " + change_table.Quoted(dialect) + " cdc_read WHERE " +
         RangesWhere(dialect, ranges) + " ORDER BY " + seq + " " + RowLimit(dialect, limit);
}

std::string NewAndGapChangesQuery(SqlDialect dialect, const TableName& change_table,
                                  const std::string& select_list, size_t ranges, size_t limit) {
  const std::string seq = Q(dialect, kSeqColumn);
  const std::string ct = change_table.Quoted(dialect);
  return "SELECT " + select_list + " FROM (SELECT * FROM (SELECT * FROM " + ct + " WHERE " + seq +
         " > ? ORDER BY " + seq + " " + RowLimit(dialect, limit) +
         ") cdc_new UNION ALL SELECT * FROM " + ct + " WHERE " + RangesWhere(dialect, ranges) +
         ") cdc_read ORDER BY " + seq + " " + RowLimit(dialect, limit);
}

std::optional<std::string> TransactionHorizonQuery(SqlDialect dialect, bool with_mark) {
  switch (dialect) {
    case SqlDialect::kPostgres:
      // One statement, one snapshot: txid_current_snapshot() is the statement's snapshot each
      // time it is called; txid_current() is assigned after that snapshot was taken.
      return std::string(with_mark ? "SELECT 'n', txid_current() UNION ALL " : "") +
             "SELECT 'c', txid_snapshot_xmax(txid_current_snapshot()) UNION ALL"
             " SELECT 'o', txid_snapshot_xip(txid_current_snapshot())";
    case SqlDialect::kOracle:
      return "SELECT 'n', CURRENT_SCN + 1 FROM V$DATABASE UNION ALL"
             " SELECT 'o', START_SCN FROM GV$TRANSACTION";
    case SqlDialect::kSqlite:
      return std::nullopt;
  }
  return std::nullopt;
}

TxHorizon ParseHorizon(SqlDialect dialect,
                       const std::vector<std::pair<std::string, int64_t>>& rows) {
  TxHorizon horizon;
  bool complete = false;
  for (const auto& [kind, value] : rows) {
    if (kind == "n") {
      horizon.next = value;
    } else if (kind == "c") {
      horizon.complete_below = value;
      complete = true;
    } else if (kind == "o") {
      horizon.open.push_back(value);
    } else {
      throw PermanentError("HORIZON", "unexpected transaction horizon row \"" + kind + "\"");
    }
  }
  if (dialect == SqlDialect::kOracle && horizon.next) {
    horizon.complete_below = *horizon.next;  // GV$TRANSACTION lists every open transaction
    complete = true;
  }
  if (!complete) throw PermanentError("HORIZON", "the transaction horizon query returned no bound");
  std::sort(horizon.open.begin(), horizon.open.end());
  return horizon;
}

bool HorizonNotPermitted(SqlDialect dialect, const std::string& code, const std::string& message) {
  switch (dialect) {
    case SqlDialect::kPostgres:
      return code == "42501";
    case SqlDialect::kOracle:
      return message.find("ORA-00942") != std::string::npos ||
             message.find("ORA-01031") != std::string::npos;
    case SqlDialect::kSqlite:
      return false;
  }
  return false;
}

std::string MaxSeqQuery(SqlDialect dialect, const TableName& change_table) {
  return "SELECT MAX(" + Q(dialect, kSeqColumn) + ") FROM " + change_table.Quoted(dialect);
}

std::string MinSeqQuery(SqlDialect dialect, const TableName& change_table) {
  return "SELECT MIN(" + Q(dialect, kSeqColumn) + ") FROM " + change_table.Quoted(dialect);
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
                               const event::TableMeta& table, const std::string& select_list,
                               bool after, size_t limit) {
  std::string order_by;
  for (size_t k : table.key) {
    if (!order_by.empty()) order_by += ", ";
    order_by += Q(dialect, table.columns[k].name);
  }
  std::string sql = "SELECT " + select_list + " FROM " + table_name.Quoted(dialect) + " cdc_read";
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
