#include "producer/pg_types.h"

#include <sql.h>

#include <charconv>

namespace cdc::producer {
namespace {

// A domain is followed to its base type (domains over domains too); an array of a domain's
// values as an array of the domain's base type (of text[] when that is a domain again).
constexpr const char* kColumnTypesQuery = R"(WITH RECURSIVE col(attnum, attname, typid, typmod) AS (
  SELECT a.attnum, a.attname::text, a.atttypid, a.atttypmod
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT col.attnum, col.attname, t.typbasetype, t.typtypmod
    FROM col JOIN pg_catalog.pg_type t ON t.oid = col.typid
   WHERE t.typtype = 'd')
SELECT col.attname, t.typname, col.typmod,
       CASE WHEN e.typtype = 'd' THEN coalesce(
              (SELECT pg_catalog.format_type(b.typarray, -1) FROM pg_catalog.pg_type b
                WHERE b.oid = e.typbasetype AND b.typtype <> 'd' AND b.typarray <> 0), 'text[]')
            ELSE pg_catalog.format_type(col.typid, col.typmod) END
  FROM col
  JOIN pg_catalog.pg_type t ON t.oid = col.typid
  LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
 WHERE t.typtype <> 'd'
 ORDER BY col.attnum)";

constexpr int kVarHeader = 4;  // typmods of varchar/bpchar/numeric carry PostgreSQL's VARHDRSZ

int ToInt(std::optional<std::string_view> text) {
  int value = -1;
  if (text) std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

}  // namespace

std::vector<PgColumnType> ReadPgColumnTypes(odbc::Connection& connection, const std::string& schema,
                                            const std::string& table) {
  odbc::Statement statement(connection);
  statement.Prepare(kColumnTypesQuery);
  statement.BindText(1, schema);
  statement.BindText(2, table);
  statement.Execute();
  std::vector<PgColumnType> out;
  odbc::RowBatch batch;
  while (statement.FetchBatch(batch, 256, 4096)) {
    for (size_t r = 0; r < batch.rows(); ++r) {
      PgColumnType type;
      type.column = std::string(batch.Get(r, 0).value_or(""));
      type.type_name = std::string(batch.Get(r, 1).value_or(""));
      type.typmod = ToInt(batch.Get(r, 2));
      type.formatted = std::string(batch.Get(r, 3).value_or(""));
      out.push_back(std::move(type));
    }
  }
  statement.CloseCursor();
  return out;
}

event::ColumnMeta ColumnFromPgType(std::string name, const PgColumnType& type, int source_sql_type,
                                   bool nullable) {
  using event::ColumnType;
  event::ColumnMeta column;
  column.name = std::move(name);
  column.nullable = nullable;
  column.source_sql_type = source_sql_type;
  column.db_type = type.formatted;
  const std::string& t = type.type_name;
  if (t == "int2" || t == "int4") {
    column.type = ColumnType::kInt32;
  } else if (t == "int8" || t == "oid") {
    column.type = ColumnType::kInt64;
  } else if (t == "numeric") {
    if (type.typmod < kVarHeader) {
      column.type = ColumnType::kDecimalText;
    } else {
      const int modifier = type.typmod - kVarHeader;
      const int precision = (modifier >> 16) & 0xffff;
      const int scale = ((modifier & 0x7ff) ^ 0x400) - 0x400;  // 11-bit signed since PG 15
      event::ColumnMeta mapped =
          event::MapOdbcColumn(column.name, SQL_NUMERIC, precision, scale, nullable);
      column.type = mapped.type;
      column.precision = mapped.precision;
      column.scale = mapped.scale;
    }
  } else if (t == "money") {
    column.type = ColumnType::kDecimalText;
  } else if (t == "float4") {
    column.type = ColumnType::kFloat32;
  } else if (t == "float8") {
    column.type = ColumnType::kFloat64;
  } else if (t == "varchar" || t == "bpchar") {
    column.type = ColumnType::kString;
    column.length = type.typmod > kVarHeader ? type.typmod - kVarHeader : 0;
  } else if (t == "text" || t == "name" || t == "citext") {
    column.type = ColumnType::kString;
  } else if (t == "bytea") {
    column.type = ColumnType::kBytes;
  } else if (t == "bool") {
    column.type = ColumnType::kBoolean;
  } else if (t == "date") {
    column.type = ColumnType::kDate;
  } else if (t == "timestamp") {
    column.type = ColumnType::kTimestamp;
  } else if (t == "timestamptz") {
    column.type = ColumnType::kTimestampTz;
  } else if (t == "uuid") {
    column.type = ColumnType::kUuid;
  } else {
    column.type = ColumnType::kOther;
  }
  return column;
}

std::string PgChangeColumnType(const event::ColumnMeta& column) {
  if (column.db_type == "money") return "numeric";
  return column.db_type.value_or("text");
}

}  // namespace cdc::producer
