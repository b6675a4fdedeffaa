#include "common/event/types.h"

#include <sql.h>
#include <sqlext.h>

#include <cctype>

namespace cdc::event {
namespace {

constexpr int kMaxAvroDecimalPrecision = 38;

// ODBC 3.8 / driver-specific codes not in every sqlext.h.
constexpr int kSqlSsTimestampOffset = -155;          // SQL Server DATETIMEOFFSET
constexpr int kSqlTimestampWithTimezone = 95;        // Oracle ODBC: TIMESTAMP WITH TIME ZONE
constexpr int kSqlTypeTimestampWithTimezone = 2014;  // ODBC 4.0 SQL_TYPE_TIMESTAMP_WITH_TIMEZONE

}  // namespace

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInt32:
      return "int32";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kDecimal:
      return "decimal";
    case ColumnType::kDecimalText:
      return "decimal_text";
    case ColumnType::kFloat32:
      return "float32";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kString:
      return "string";
    case ColumnType::kBytes:
      return "bytes";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestamp:
      return "timestamp";
    case ColumnType::kTimestampTz:
      return "timestamptz";
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kUuid:
      return "uuid";
    case ColumnType::kOther:
      return "other";
  }
  return "other";
}

std::optional<size_t> TableMeta::Find(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

std::vector<std::string> ColumnNameProblems(const TableMeta& table) {
  std::vector<std::string> problems;
  std::vector<std::string> lowered;
  for (const ColumnMeta& column : table.columns) {
    std::string name = column.name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string quoted = "column \"" + column.name + "\" of " + table.QualifiedName();
    if (name.size() > kMaxReplicaNameBytes) {
      problems.push_back(quoted + ": " + std::to_string(name.size()) +
                         " bytes, over the replica's limit of " +
                         std::to_string(kMaxReplicaNameBytes) + " (PostgreSQL would truncate it)");
    }
    if (name.rfind("_cdc_", 0) == 0) {
      problems.push_back(quoted +
                         ": names beginning with _cdc_ are reserved for the replica's "
                         "metadata columns");
    }
    for (size_t i = 0; i < lowered.size(); ++i) {
      if (lowered[i] == name) {
        problems.push_back(quoted + ": the replica names it \"" + name + "\", as it names \"" +
                           table.columns[i].name + "\"");
      }
    }
    lowered.push_back(std::move(name));
  }
  return problems;
}

ColumnMeta MapOdbcColumn(std::string name, int sql_type, int64_t column_size, int decimal_digits,
                         bool nullable) {
  ColumnMeta column;
  column.name = std::move(name);
  column.nullable = nullable;
  column.source_sql_type = sql_type;
  switch (sql_type) {
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_TINYINT:
      column.type = ColumnType::kInt32;
      break;
    case SQL_BIGINT:
      column.type = ColumnType::kInt64;
      break;
    case SQL_DECIMAL:
    case SQL_NUMERIC: {
      int precision = static_cast<int>(column_size);
      int scale = decimal_digits;
      if (scale < 0) {  // NUMBER(p,-s): integers with p - s digits
        precision -= scale;
        scale = 0;
      }
      if (precision <= 0 || precision > kMaxAvroDecimalPrecision || scale > precision) {
        column.type = ColumnType::kDecimalText;
      } else {
        column.type = ColumnType::kDecimal;
        column.precision = precision;
        column.scale = scale;
      }
      break;
    }
    case SQL_REAL:
      column.type = ColumnType::kFloat32;
      break;
    case SQL_FLOAT:
    case SQL_DOUBLE:
      column.type = ColumnType::kFloat64;
      break;
    case SQL_CHAR:
    case SQL_VARCHAR:
    case SQL_WCHAR:
    case SQL_WVARCHAR:
      column.type = ColumnType::kString;
      column.length =
          column_size > 0 && column_size <= 10'485'760 ? static_cast<int>(column_size) : 0;
      break;
    case SQL_LONGVARCHAR:
    case SQL_WLONGVARCHAR:
      column.type = ColumnType::kString;
      break;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
      column.type = ColumnType::kBytes;
      break;
    case SQL_TYPE_DATE:
    case SQL_DATE:
      column.type = ColumnType::kDate;
      break;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
      column.type = ColumnType::kTimestamp;
      break;
    case kSqlSsTimestampOffset:
    case kSqlTimestampWithTimezone:
    case kSqlTypeTimestampWithTimezone:
      column.type = ColumnType::kTimestampTz;
      break;
    case SQL_BIT:
      column.type = ColumnType::kBoolean;
      break;
    case SQL_GUID:
      column.type = ColumnType::kUuid;
      break;
    default:
      column.type = ColumnType::kOther;
      break;
  }
  return column;
}

std::string PostgresType(const ColumnMeta& column) {
  switch (column.type) {
    case ColumnType::kInt32:
      return "integer";
    case ColumnType::kInt64:
      return "bigint";
    case ColumnType::kDecimal:
      return "numeric(" + std::to_string(column.precision) + "," + std::to_string(column.scale) +
             ")";
    case ColumnType::kDecimalText:
      return "numeric";
    case ColumnType::kFloat32:
      return "real";
    case ColumnType::kFloat64:
      return "double precision";
    case ColumnType::kString:
      return column.length > 0 ? "varchar(" + std::to_string(column.length) + ")" : "text";
    case ColumnType::kBytes:
      return "bytea";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestamp:
      return "timestamp";
    case ColumnType::kTimestampTz:
      return "timestamptz";
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kUuid:
      return "uuid";
    case ColumnType::kOther:
      return "text";
  }
  return "text";
}

}  // namespace cdc::event
