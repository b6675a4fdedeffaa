#include "producer/catalog.h"

#include <sql.h>
#include <sqlext.h>

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

#include "common/error.h"
#include "producer/pg_types.h"

namespace cdc::producer {
namespace {

// SQLColumns / SQLPrimaryKeys result columns (1-based in ODBC, 0-based here).
constexpr size_t kColSchema = 1;
constexpr size_t kColTable = 2;
constexpr size_t kColName = 3;
constexpr size_t kColDataType = 4;
constexpr size_t kColTypeName = 5;
constexpr size_t kColColumnSize = 6;
constexpr size_t kColDecimalDigits = 8;
constexpr size_t kColNullable = 10;
constexpr size_t kColOrdinal = 16;
constexpr size_t kColPgTypmod = 24;
constexpr size_t kPkColName = 3;
constexpr size_t kPkKeySeq = 4;

int64_t ToInt(std::optional<std::string_view> text, int64_t fallback) {
  if (!text) return fallback;
  int64_t value = fallback;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  return ec == std::errc() ? value : fallback;
}

std::string Upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// SQLite stores what the table declares; the catalog keeps the declaration ("DECIMAL(12,2)").
std::optional<std::string> CatalogSchema(SqlDialect dialect, const TableName& name) {
  if (dialect == SqlDialect::kSqlite || name.schema.empty()) return std::nullopt;
  return name.schema;
}

std::string Describe(const TableName& name) { return name.ToString(); }

// The catalog functions take search patterns (`_` and `%` are wildcards: `t_x` also matches
// `tax`), and not every driver honours an escape character or SQL_ATTR_METADATA_ID. A pattern
// made of the exact name matches that name too, so the answer is a superset: keep the rows of
// exactly `name` (SQLite's names are case-insensitive, the others' exact). Throws
// PermanentError("TABLE") when a name without a schema matches tables in more than one schema.
class ExactName {
 public:
  ExactName(SqlDialect dialect, const TableName& name) : dialect_(dialect), name_(name) {}

  bool Matches(const odbc::RowBatch& batch, size_t row) {
    const std::string table(batch.Get(row, kColTable).value_or(""));
    if (!Same(table, name_.table)) return false;
    const std::string schema(batch.Get(row, kColSchema).value_or(""));
    if (dialect_ == SqlDialect::kSqlite) return true;  // one namespace per connection
    if (!name_.schema.empty()) return Same(schema, name_.schema);
    if (!schema_) schema_ = schema;
    if (*schema_ != schema) {
      throw PermanentError("TABLE", "table " + Describe(name_) + " exists in schemas \"" +
                                        *schema_ + "\" and \"" + schema +
                                        "\"; name it as SCHEMA.TABLE");
    }
    return true;
  }

 private:
  bool Same(std::string_view found, std::string_view wanted) const {
    if (dialect_ != SqlDialect::kSqlite) return found == wanted;
    return found.size() == wanted.size() &&
           std::equal(found.begin(), found.end(), wanted.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  }

  const SqlDialect dialect_;
  const TableName& name_;
  std::optional<std::string> schema_;  // the one schema a name without one was found in
};

}  // namespace

std::string SqliteAffinity(std::string_view declared_type) {
  const std::string upper = Upper(std::string(declared_type));
  auto has = [&](std::string_view part) { return upper.find(part) != std::string::npos; };
  if (has("INT")) return "INTEGER";
  if (has("CHAR") || has("CLOB") || has("TEXT")) return "TEXT";
  if (has("BLOB") || upper.find_first_not_of(' ') == std::string::npos) return "BLOB";
  if (has("REAL") || has("FLOA") || has("DOUB")) return "REAL";
  return "NUMERIC";
}

event::ColumnMeta SqliteDeclared(const event::ColumnMeta& column) {
  event::ColumnMeta declared = column;
  if (!column.db_type) return declared;
  if (column.type == event::ColumnType::kInt64 &&
      (column.source_sql_type == SQL_INTEGER || column.source_sql_type == SQL_SMALLINT ||
       column.source_sql_type == SQL_TINYINT)) {
    declared.type = event::ColumnType::kInt32;
  }
  static const std::regex kLength(R"(^[^(]*CHAR[^(]*\(\s*(\d+)\s*\)\s*$)", std::regex::icase);
  std::smatch match;
  if (column.type == event::ColumnType::kString &&
      std::regex_match(*column.db_type, match, kLength)) {
    declared.length = std::stoi(match[1].str());
  }
  return declared;
}

namespace {

// Oracle's types as its ODBC driver describes them (tests/unit/producer/catalog_test.cc cites the
// sources; not run against a real driver here).
void OracleFixUp(const CatalogColumn& column, const std::string& type_name, int& sql_type,
                 int64_t& size, int& digits) {
  auto refuse = [&](const std::string& why) {
    throw PermanentError("UNSUPPORTED_TYPE", "column " + column.name + " (" + column.type_name +
                                                 ") cannot be captured: " + why);
  };
  if (type_name == "LONG" || type_name == "LONG RAW") {
    refuse("a trigger cannot read :NEW or :OLD of LONG and LONG RAW (convert it to CLOB or BLOB)");
  }
  if (type_name.starts_with("INTERVAL")) {
    refuse(
        "the ODBC driver cannot describe INTERVAL columns (keep the interval as a NUMBER of"
        " seconds or months)");
  }
  if (type_name == "BFILE") refuse("a BFILE is a pointer to a file outside the database");
  if (type_name.find("TIME ZONE") != std::string::npos) {
    sql_type = -155;  // an instant: read in the session's time zone, UTC
    return;
  }
  if ((type_name == "NUMBER" && column.decimal_digits_null) || type_name == "FLOAT") {
    // NUMBER without precision (reported as 38 digits, scale NULL) holds fractions; FLOAT(p) is
    // a decimal of up to 38 digits the driver describes as a double: exact text for both.
    sql_type = SQL_DECIMAL;
    size = 0;
    digits = 0;
    return;
  }
  static const std::set<int> kReadable = {
      SQL_CHAR,         SQL_VARCHAR,       SQL_LONGVARCHAR, SQL_WCHAR,          SQL_WVARCHAR,
      SQL_WLONGVARCHAR, SQL_DECIMAL,       SQL_NUMERIC,     SQL_SMALLINT,       SQL_INTEGER,
      SQL_BIGINT,       SQL_REAL,          SQL_FLOAT,       SQL_DOUBLE,         SQL_BINARY,
      SQL_VARBINARY,    SQL_LONGVARBINARY, SQL_TYPE_DATE,   SQL_TYPE_TIMESTAMP, SQL_BIT};
  if (kReadable.count(sql_type) == 0 || type_name.find("XMLTYPE") != std::string::npos ||
      type_name == "JSON") {
    refuse(
        "no tested mapping for this type (XMLTYPE, JSON, object and collection types: capture"
        " a VARCHAR2, CLOB or BLOB rendering of it instead)");
  }
}

}  // namespace

event::ColumnMeta ColumnFromCatalog(SqlDialect dialect, const CatalogColumn& column) {
  int sql_type = column.sql_type;
  int64_t size = column.column_size;
  int digits = column.decimal_digits;
  const std::string type_name = Upper(column.type_name);
  if (dialect == SqlDialect::kSqlite) {
    // sqliteodbc reports declared DECIMAL/NUMERIC(p,s) as VARCHAR; the declaration is exact.
    static const std::regex kDecimal(
        R"(^\s*(DECIMAL|NUMERIC|NUMBER)\s*\(\s*(\d+)\s*(,\s*(\d+)\s*)?\)\s*$)");
    std::smatch match;
    if (std::regex_match(type_name, match, kDecimal)) {
      sql_type = SQL_DECIMAL;
      size = std::stoll(match[2].str());
      digits = match[4].matched ? std::stoi(match[4].str()) : 0;
    } else if (type_name == "BOOLEAN" || type_name == "BOOL") {
      sql_type = SQL_BIT;
    }
  } else if (dialect == SqlDialect::kPostgres) {
    if (type_name == "BOOL") sql_type = SQL_BIT;
    if (type_name == "TIMESTAMPTZ") sql_type = -155;  // mapped to kTimestampTz
    if (type_name == "NUMERIC" && column.pg_typmod && *column.pg_typmod < 0) {
      size = 0;  // unconstrained numeric: exact text, not psqlODBC's (28,6) default
      digits = 0;
    }
  } else if (dialect == SqlDialect::kOracle) {
    OracleFixUp(column, type_name, sql_type, size, digits);
  }
  event::ColumnMeta mapped =
      event::MapOdbcColumn(column.name, sql_type, size, digits, column.nullable);
  if (dialect == SqlDialect::kSqlite) {
    // SQLite enforces no declared length or width: every integer is 64-bit, text unbounded, and
    // a NUMERIC column holds integers of 19 digits exactly (not a double's 15-17).
    mapped.db_type = column.type_name;
    const std::string affinity = SqliteAffinity(column.type_name);
    if (mapped.type == event::ColumnType::kInt32) mapped.type = event::ColumnType::kInt64;
    if (mapped.type == event::ColumnType::kString) mapped.length = 0;
    if (affinity == "NUMERIC" && (mapped.type == event::ColumnType::kFloat64 ||
                                  mapped.type == event::ColumnType::kFloat32)) {
      mapped.type = event::ColumnType::kDecimalText;
    }
  }
  return mapped;
}

std::vector<event::ColumnMeta> ReadColumns(odbc::Connection& connection, SqlDialect dialect,
                                           const TableName& name) {
  odbc::Statement statement(connection);
  statement.CatalogColumns(std::nullopt, CatalogSchema(dialect, name), name.table);
  std::vector<CatalogColumn> rows;
  std::string schema;  // where the table was found
  odbc::RowBatch batch;
  ExactName exact(dialect, name);
  while (statement.FetchBatch(batch, 256, 4096)) {
    for (size_t r = 0; r < batch.rows(); ++r) {
      if (!exact.Matches(batch, r)) continue;
      schema = std::string(batch.Get(r, kColSchema).value_or(""));
      CatalogColumn column;
      column.name = std::string(batch.Get(r, kColName).value_or(""));
      column.sql_type = static_cast<int>(ToInt(batch.Get(r, kColDataType), 0));
      column.type_name = std::string(batch.Get(r, kColTypeName).value_or(""));
      column.column_size = ToInt(batch.Get(r, kColColumnSize), 0);
      column.decimal_digits = static_cast<int>(ToInt(batch.Get(r, kColDecimalDigits), 0));
      column.decimal_digits_null = !batch.Get(r, kColDecimalDigits).has_value();
      column.nullable = ToInt(batch.Get(r, kColNullable), SQL_NULLABLE) != SQL_NO_NULLS;
      column.ordinal = static_cast<int>(ToInt(batch.Get(r, kColOrdinal), 0));
      if (dialect == SqlDialect::kPostgres && batch.columns() > kColPgTypmod) {
        column.pg_typmod = static_cast<int>(ToInt(batch.Get(r, kColPgTypmod), 0));
      }
      rows.push_back(std::move(column));
    }
  }
  statement.CloseCursor();
  std::stable_sort(rows.begin(), rows.end(), [](const CatalogColumn& a, const CatalogColumn& b) {
    return a.ordinal < b.ordinal;
  });
  std::vector<event::ColumnMeta> columns;
  if (dialect == SqlDialect::kPostgres && !rows.empty()) {
    // The exact types (psqlODBC's answers are approximations; see pg_types.h).
    const std::vector<PgColumnType> types = ReadPgColumnTypes(connection, schema, name.table);
    for (const CatalogColumn& row : rows) {
      const auto type = std::find_if(types.begin(), types.end(),
                                     [&](const PgColumnType& t) { return t.column == row.name; });
      columns.push_back(type == types.end()
                            ? ColumnFromCatalog(dialect, row)
                            : ColumnFromPgType(row.name, *type, row.sql_type, row.nullable));
    }
    return columns;
  }
  for (const CatalogColumn& row : rows) columns.push_back(ColumnFromCatalog(dialect, row));
  return columns;
}

event::TableMeta ReadTableMeta(odbc::Connection& connection, SqlDialect dialect,
                               const TableName& name, const std::vector<std::string>& key_override,
                               const std::string& key_setting) {
  event::TableMeta table;
  table.schema = name.schema.empty() ? (dialect == SqlDialect::kSqlite ? "main" : "") : name.schema;
  table.table = name.table;
  table.columns = ReadColumns(connection, dialect, name);
  if (table.columns.empty()) {
    throw PermanentError("TABLE", "table " + Describe(name) + " not found in the source catalog");
  }
  std::vector<std::string> key_names = key_override;
  if (key_names.empty()) {
    odbc::Statement statement(connection);
    statement.CatalogPrimaryKeys(std::nullopt, CatalogSchema(dialect, name), name.table);
    std::vector<std::pair<int64_t, std::string>> keys;
    odbc::RowBatch batch;
    ExactName exact(dialect, name);
    while (statement.FetchBatch(batch, 64, 4096)) {
      for (size_t r = 0; r < batch.rows(); ++r) {
        if (!exact.Matches(batch, r)) continue;
        keys.emplace_back(ToInt(batch.Get(r, kPkKeySeq), 0),
                          std::string(batch.Get(r, kPkColName).value_or("")));
      }
    }
    statement.CloseCursor();
    std::sort(keys.begin(), keys.end());
    for (auto& [seq, column] : keys) key_names.push_back(std::move(column));
  }
  if (key_names.empty()) {
    throw PermanentError("KEY", key_setting + ": table " + Describe(name) +
                                    " has no primary key; list its key columns here");
  }
  for (const std::string& key : key_names) {
    const std::optional<size_t> index = table.Find(key);
    if (!index) {
      throw PermanentError(
          "KEY", key_setting + ": table " + Describe(name) + " has no column \"" + key + "\"");
    }
    table.key.push_back(*index);
  }
  return table;
}

}  // namespace cdc::producer
